"""Hybrid search: dense (Chroma) and keyword (BM25) candidates fused by reciprocal rank fusion.

Optional: metadata filters (source, published date range), MMR for diversity, a cross-encoder reranker.
`NewsRetriever` exposes it as a LangChain `BaseRetriever`.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.errors import UsageError
from bot.schema import Passage
from index.bm25 import BM25Index
from index.build import load_fresh_bm25, rebuild_bm25
from index.embedder import Embedder
from index.store import ChunkStore, IndexSignature, StoredChunk

log = logging.getLogger(__name__)

# The usual RRF constant: ranks matter, raw scores of the two retrievers need no calibration.
RRF_K = 60


@dataclass(frozen=True)
class SearchFilters:
    source: str | None = None
    published_from: str | None = None
    published_to: str | None = None

    @classmethod
    def from_mapping(cls, filters: Mapping[str, Any] | None) -> SearchFilters | None:
        if not filters:
            return None
        unknown = set(filters) - {"source", "published_from", "published_to"}
        if unknown:
            raise UsageError(f"Unknown filter {sorted(unknown)[0]!r}. Filters: source, published_from, published_to.")
        values = {key: (str(value).strip() or None) if value is not None else None for key, value in filters.items()}
        for key in ("published_from", "published_to"):
            if values.get(key):
                try:  # (only YYYY-MM-DD: "20240101" or "2024-W01-1" would compare wrongly as text)
                    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", values[key]):
                        raise ValueError(values[key])
                    date.fromisoformat(values[key])
                except ValueError:
                    raise UsageError(f"Filter {key} must be a date like 2024-05-14. Currently, it is "
                                     f"{values[key]!r}.") from None
        result = cls(**values)
        if result.published_from and result.published_to and result.published_from > result.published_to:
            raise UsageError(f"Filter published_from ({result.published_from}) is after published_to "
                             f"({result.published_to}): no article can match.")
        return result if any((result.source, result.published_from, result.published_to)) else None

    def describe(self) -> str:
        """'source "003", published from 2030-01-01' (what a reader is told when nothing matches)."""
        parts = [f'source "{self.source}"'] if self.source else []
        if self.published_from or self.published_to:
            span = " ".join(f"{word} {value}" for word, value in (("from", self.published_from),
                                                                  ("to", self.published_to)) if value)
            parts.append(f"published {span}")
        return ", ".join(parts)

    @staticmethod
    def _path(meta: Mapping[str, Any]) -> str:
        """Where a chunk's file is, as `source` is matched against it: the folder it was indexed from ("corpus",
        which `bot sources` shows) and its path below it, so "sports" picks the articles indexed from .../sports.
        (Matching the path below the folder alone, someone who had indexed two folders could not ask one.) A file
        indexed on its own is its own corpus. Built from the metadata alone: this runs for every chunk per query."""
        source, corpus = str(meta.get("source", "")), str(meta.get("corpus", "")).rstrip("/")
        if not corpus or corpus == source or corpus.endswith("/" + source):
            return corpus or source
        return f"{corpus}/{source}"

    def _ts(self, value: str | None) -> int | None:
        return int(value.replace("-", "")) if value else None

    def matches(self, meta: Mapping[str, Any]) -> bool:
        if self.source and self.source.lower() not in self._path(meta).lower():
            return False
        ts = int(meta.get("published_ts") or 0)
        low, high = self._ts(self.published_from), self._ts(self.published_to)
        if (low or high) and not ts:
            return False
        return not ((low and ts < low) or (high and ts > high))


class Reranker:
    """A sentence-transformers CrossEncoder from a local folder, loaded on first use."""

    def __init__(self, model_path: str) -> None:
        if not Path(model_path).exists():
            raise UsageError(f"Reranker model folder {model_path} does not exist. Set reranker_path to a local "
                             "CrossEncoder folder or unset it.")
        self.model_path = model_path
        self._model: Any = None

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model_path, device="cpu", local_files_only=True)
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._model.predict([(query, t) for t in texts], show_progress_bar=False),
                          dtype=np.float32).reshape(-1)


class HybridRetriever:
    """Dense + BM25 over one index. Collaborators are passed in; the BM25 sidecar loads on first use."""

    def __init__(
        self,
        *,
        store: ChunkStore,
        embedder: Embedder,
        bm25_dir: Path,
        signature: Callable[[], IndexSignature] | None = None,
        k: int = 5,
        candidates: int = 20,
        mmr: bool = False,
        mmr_lambda: float = 0.7,
        reranker: Reranker | None = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}.")
        if candidates < k:
            raise ValueError(f"candidates must be at least k ({k}). Currently, candidates is {candidates}.")
        self.store = store
        self.embedder = embedder
        self.bm25_dir = bm25_dir
        self.signature = signature
        self.k = k
        self.candidates = candidates
        self.mmr = mmr
        self.mmr_lambda = mmr_lambda
        self.reranker = reranker
        # How often a long-running server looks whether `bot index` (another process) saved a new keyword index.
        self.refresh_seconds = refresh_seconds
        self._bm25: BM25Index | None = None
        self._bm25_stamp: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Check the index, load the model and the keyword index, so the first question is not slow."""
        log.info("keyword index ready: %d chunks", len(self.bm25))
        self.embedder.warm_up()

    @property
    def bm25(self) -> BM25Index:
        with self._lock:
            if self._bm25 is None:
                if self.signature is not None:  # a callable: the model's dimension is known only once loaded
                    self.store.open_for_reading(self.signature())
                fresh = load_fresh_bm25(self.store, self.bm25_dir)
                if fresh is None:
                    log.info("keyword index is missing or stale; rebuilding it from the store")
                    fresh = rebuild_bm25(self.store, self.bm25_dir)
                self._bm25 = fresh
                self._bm25_stamp = _stamp(self.bm25_dir)
                self._checked_at = time.monotonic()
            elif time.monotonic() - self._checked_at >= self.refresh_seconds:
                self._reload_if_saved_anew()
            return self._bm25

    def _reload_if_saved_anew(self) -> None:
        """Articles indexed while the server runs are answered from without a restart: the dense side reads the
        store as it is, and the keyword index follows once `bot index` has saved it (atomically, at its end).
        Mid-swap or unreadable, the loaded one stays and the next check tries again."""
        self._checked_at = time.monotonic()
        stamp = _stamp(self.bm25_dir)
        if stamp is None or stamp == self._bm25_stamp:
            return
        saved = BM25Index.load(self.bm25_dir)
        if saved is not None:
            log.info("the index changed on disk: %d chunks (was %d)", len(saved), len(self._bm25 or ()))
            self._bm25, self._bm25_stamp = saved, stamp
            # The dense side too: an embedded store reads the new vectors only through a new client.
            self.store.reconnect()

    def check_store(self, *, timeout: float) -> int:
        """For a health check: the chunks in the store now, after a heartbeat waiting at most `timeout` seconds (a
        server stopped with SIGSTOP fails it fast, before the lock a stuck question may hold). Raises
        StoreUnavailableError, or IndexMissingError when the index is gone (a server restarted on an empty folder,
        while the keyword index in memory still counts the old chunks)."""
        self.store.ping(timeout=timeout)
        with self._lock:  # (not while the store reconnects to read what `bot index` wrote)
            return self.store.indexed_count()

    def clear(self) -> None:
        """Forget the loaded keyword index (after re-indexing in the same process)."""
        with self._lock:
            self._bm25 = None
            self._bm25_stamp = None

    def any_match(self, filters: SearchFilters) -> bool:
        """Does any indexed chunk pass the filters?"""
        return bool(self.bm25.ids_where(filters.matches))

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: SearchFilters | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Passage]:
        k = self.k if k is None else k
        if k <= 0:
            raise UsageError(f"k must be greater than 0. Currently, k is {k}.")
        bm25 = self.bm25
        n = max(self.candidates, k)
        allowed = bm25.ids_where(filters.matches) if filters else None
        if allowed is not None and not allowed:
            return []
        vector = self.embedder.encode_query(query) if query_vector is None else query_vector
        # (The store is read under the lock: not while it reconnects to read what `bot index` wrote.)
        with self._lock:
            hits = self._dense(vector, n=n, allowed=allowed, bm25=bm25)
        dense = [(h.id, float(h.similarity or 0.0)) for h in hits]
        keyword = bm25.search(query, n=n, allowed=allowed)
        fused: dict[str, float] = {}
        for ranking in ([chunk_id for chunk_id, _ in dense], [chunk_id for chunk_id, _ in keyword]):
            for rank, chunk_id in enumerate(ranking):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        dense_scores = dict(dense)
        bm25_scores = dict(keyword)
        order = sorted(fused, key=lambda chunk_id: -fused[chunk_id])
        # Dense hits came with their text; fetch only what the keyword side alone found and may be shown.
        stored = {h.id: h for h in hits}
        wanted = order if (self.reranker is not None or self.mmr) else order[:k]
        with self._lock:
            stored.update({c.id: c for c in self.store.get([i for i in wanted if i not in stored])})
        if self.reranker is not None and order:
            scores = self.reranker.score(query, [stored[i].text for i in order if i in stored])
            reranked = dict(zip([i for i in order if i in stored], scores.tolist(), strict=True))
            order = sorted(reranked, key=lambda chunk_id: -reranked[chunk_id])
        if self.mmr and len(order) > k:
            order = self._mmr(vector, order, k)
        passages = []
        for rank, chunk_id in enumerate(i for i in order if i in stored):
            if rank >= k:
                break
            chunk = stored[chunk_id]
            passages.append(Passage(chunk_id=chunk_id, text=chunk.text, metadata=chunk.metadata,
                                    score=fused[chunk_id], rank=rank + 1, dense_score=dense_scores.get(chunk_id),
                                    bm25_score=bm25_scores.get(chunk_id)))
        return passages

    def article_of(self, passage: Passage) -> list[Passage]:
        """Every chunk of the passage's article (for what comes before a sentence of it), in no set order."""
        key = tuple(passage.metadata.get(name) for name in ("corpus", "source", "article"))
        bm25 = self.bm25
        ids = [chunk_id for chunk_id, meta in zip(bm25.ids, bm25.meta, strict=True)
               if tuple(meta.get(name) for name in ("corpus", "source", "article")) == key]
        with self._lock:
            chunks = self.store.get(ids, metadata=True)
        return [Passage(chunk_id=c.id, text=c.text, metadata=c.metadata, score=0.0, rank=0) for c in chunks]

    def _dense(
        self, vector: np.ndarray, *, n: int, allowed: set[str] | None, bm25: BM25Index
    ) -> list[StoredChunk]:
        where = None
        if allowed is not None:
            sources = sorted({m.get("source") for i, m in zip(bm25.ids, bm25.meta, strict=True) if i in allowed})
            where = {"source": {"$in": sources}}
        total = len(bm25)
        hits = self.store.query(vector, n=min(n if allowed is None else n * 3, max(total, 1)), where=where)
        return [h for h in hits if allowed is None or h.id in allowed][:n]

    def _mmr(self, vector: np.ndarray, order: list[str], k: int) -> list[str]:
        with self._lock:
            result = self.store.collection.get(ids=order, include=["embeddings"])
        vectors = dict(zip(result["ids"], np.asarray(result["embeddings"], dtype=np.float32), strict=True))
        candidates = [i for i in order if i in vectors]
        relevance = {i: float(vectors[i] @ vector) for i in candidates}
        chosen: list[str] = []
        while candidates and len(chosen) < k:
            def gain(chunk_id: str) -> float:
                redundancy = max((float(vectors[chunk_id] @ vectors[c]) for c in chosen), default=0.0)
                return self.mmr_lambda * relevance[chunk_id] - (1 - self.mmr_lambda) * redundancy

            best = max(candidates, key=gain)
            chosen.append(best)
            candidates.remove(best)
        return chosen + [i for i in order if i not in chosen]


def passage_to_document(passage: Passage) -> Document:
    metadata = {key: value for key, value in passage.metadata.items() if key != "sentvecs"}
    metadata |= {"id": passage.chunk_id, "score": passage.score, "rank": passage.rank,
                 "dense_score": passage.dense_score, "bm25_score": passage.bm25_score}
    return Document(page_content=passage.text, metadata=metadata, id=passage.chunk_id)


class NewsRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain retriever: `NewsRetriever(hybrid=...).invoke("question", k=3)`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any
    k: int = 5
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        passages = self.hybrid.retrieve(query, k=self.k if k is None else k,
                                        filters=SearchFilters.from_mapping(filters or self.filters))
        return [passage_to_document(p) for p in passages]


def _stamp(directory: Path) -> tuple[int, int] | None:
    """What tells one saved keyword index from the next: its id file's inode and modification time."""
    try:
        info = (directory / BM25Index.IDS_FILE).stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns
