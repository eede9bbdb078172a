"""The embedder counts the packaged model's word pieces from its tokenizer.json alone, exactly as the loaded model's
own tokenizer does, so chunking needs no model (real packaged MiniLM)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from index.embedder import Embedder, packaged_model_path
from index.errors import ModelError

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ODD_TEXTS = [
    "",
    "Café déjà vu – naïve façade.",
    "苏通大桥 opened on June 30, 2008 🚗🚗.",
    "  spaces\tand\nnewlines  ",
    "word " * 600,  # far past the 128 pieces tokenizer.json truncates to for the model
]


def _texts() -> list[str]:
    paragraphs = [p for path in sorted(SEEDS.glob("*.txt")) for p in path.read_text(encoding="utf-8").split("\n\n")]
    return [p for p in paragraphs if p.strip()] + ODD_TEXTS


@pytest.mark.integration
def test_counting_word_pieces_loads_no_model_and_matches_the_models_tokenizer(embedder: Embedder) -> None:
    fresh = Embedder()
    texts = _texts()
    counts = fresh.count_wordpieces_many(texts)
    assert fresh.count_wordpieces(texts[0]) == counts[0]
    assert fresh._model is None  # noqa: SLF001 - the point of the test
    model = embedder.model
    expected = [len(model.tokenizer.encode(t, add_special_tokens=False, verbose=False)) for t in texts]
    assert counts == expected
    assert fresh.max_wordpieces == int(model.max_seq_length) - 2
    assert counts[-1] == 600  # past the 128 pieces tokenizer.json truncates to


@pytest.mark.integration
def test_another_model_folder_counts_with_its_models_tokenizer(tmp_path: Path) -> None:
    """Its tokenizer_config.json may change what tokenizer.json alone would count (here: lower-casing off)."""
    folder = tmp_path / "model"
    folder.mkdir()
    for item in Path(packaged_model_path()).iterdir():
        if item.name != "tokenizer_config.json":
            (folder / item.name).symlink_to(item)
    config = json.loads((Path(packaged_model_path()) / "tokenizer_config.json").read_text(encoding="utf-8"))
    (folder / "tokenizer_config.json").write_text(json.dumps(config | {"do_lower_case": False}), encoding="utf-8")
    custom = Embedder(model_path=str(folder))
    text = "Sutong Bridge OPENED"
    assert custom.count_wordpieces(text) == len(custom.model.tokenizer.encode(text, add_special_tokens=False))
    assert custom._model is not None  # noqa: SLF001


@pytest.mark.parametrize("shape", ["missing", "file", "empty"])
def test_a_model_folder_that_is_not_one_is_one_line_without_loading(tmp_path: Path, shape: str) -> None:
    """An empty folder (or a file) given as model_path failed deep in transformers, once the run had begun."""
    path = tmp_path / "model"
    if shape == "file":
        path.write_text("not a model", encoding="utf-8")
    elif shape == "empty":
        path.mkdir()
    what = {"missing": "does not exist", "file": "is a file, not a folder",
            "empty": "holds no model (no modules.json or config.json)"}[shape]
    with pytest.raises(ModelError, match=rf"^Embedding model folder {path} {re.escape(what)}\. Set model_path"):
        Embedder(model_path=str(path)).check()
    Embedder().check()  # the packaged model is one


# --- the reranker's folder ---------------------------------------------------------------------------------------

FIX = "Point BOT_RERANKER_PATH at a local CrossEncoder folder."


@pytest.fixture(scope="module")
def cross_encoders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny CrossEncoder (one layer, random weights, the packaged MiniLM's tokenizer) in both shapes found in the
    wild: saved by transformers alone (config.json, ...ForSequenceClassification) and by sentence-transformers
    (model_type CrossEncoder in config_sentence_transformers.json, and a modules.json)."""
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("cross-encoders")
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_path(), local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(root / "transformers")
    tokenizer.save_pretrained(root / "transformers")
    CrossEncoder(str(root / "transformers"), device="cpu", local_files_only=True).save(str(root / "st"))
    return {"transformers": root / "transformers", "sentence-transformers": root / "st"}


@pytest.mark.integration
@pytest.mark.parametrize("shape", ["transformers", "sentence-transformers"])
def test_a_cross_encoder_folder_passes_the_check_and_reranks(cross_encoders: dict[str, Path], shape: str) -> None:
    from bot.retrieval import Reranker
    from index.embedder import check_cross_encoder_folder

    check_cross_encoder_folder(str(cross_encoders[shape]), fix=FIX)
    assert Reranker(str(cross_encoders[shape])).score("When?", ["In 2008.", "Nantong."]).shape == (2,)


def test_a_folder_that_is_no_cross_encoder_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """An empty folder said "ValueError: Unrecognized model in ... Should have a `model_type` key" at the first
    question (`bot serve` said "ready", then a 500 each time); the embedding model, given as the reranker, was taken
    without a word and scored passages at random."""
    from index.embedder import check_cross_encoder_folder

    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "file.bin"
    a_file.write_bytes(b"x")
    bare_bert = tmp_path / "bert"
    bare_bert.mkdir()
    (bare_bert / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    cases = {
        tmp_path / "missing": "does not exist",
        a_file: "is a file, not a folder",
        empty: "holds no model (no config.json)",
        Path(packaged_model_path()): "holds a SentenceTransformer model (an embedding model), not a CrossEncoder",
        bare_bert: "holds a BertModel model, not a cross-encoder (...ForSequenceClassification)",
        broken: "config.json cannot be read",
    }
    for folder, why in cases.items():
        with pytest.raises(ModelError) as caught:
            check_cross_encoder_folder(str(folder), fix=FIX)
        message = str(caught.value)
        assert message.startswith(f"Reranker model folder {folder}") and why in message, message
        assert message.endswith(FIX) and "\n" not in message
