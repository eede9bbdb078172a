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
