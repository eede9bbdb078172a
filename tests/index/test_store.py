"""ChunkStore against real Chroma, embedded and over HTTP (`chroma run`). Tiny 4-d vectors, no model."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bot.indexing import open_store
from bot.settings import Settings
from index.errors import IndexingError
from index.store import (
    REBUILD_COMPLETE,
    REBUILD_SUFFIX,
    ChunkStore,
    IndexMismatchError,
    IndexMissingError,
    IndexSignature,
    StoreUnavailableError,
    make_client,
)
from tests.chroma_server import free_port

pytestmark = pytest.mark.integration

SIGNATURE = IndexSignature("model-a", "chunker-1")


def _chunks(n: int, *, source: str = "a.txt") -> tuple[list[str], np.ndarray, list[str], list[dict]]:
    ids = [f"{source}-{i}" for i in range(n)]
    vectors = np.zeros((n, 4), dtype=np.float32)
    for i in range(n):
        vectors[i, i % 4] = 1.0  # chunk i points along axis i mod 4
    texts = [f"text {i} of {source}" for i in range(n)]
    metadatas = [{"source": source, "chunk": i} for i in range(n)]
    return ids, vectors, texts, metadatas


def _store(settings: Settings) -> ChunkStore:
    store = open_store(settings)
    store.open_for_writing(SIGNATURE)
    return store


def test_a_new_store_is_missing_until_it_has_chunks(settings: Settings) -> None:
    store = open_store(settings)
    assert store.signature() is None and store.count() == 0
    with pytest.raises(IndexMissingError, match="bot index"):
        store.open_for_reading(SIGNATURE)
    store.open_for_writing(SIGNATURE)
    assert store.signature() == SIGNATURE
    with pytest.raises(IndexMissingError):  # created but empty is still "no index"
        store.open_for_reading(SIGNATURE)
    store.upsert(*_chunks(1))
    store.open_for_reading(SIGNATURE)


def test_reading_with_another_model_or_chunker_says_to_reindex(settings: Settings) -> None:
    store = _store(settings)
    store.upsert(*_chunks(2))
    with pytest.raises(IndexMismatchError, match="model-a.*model-b.*Re-index") as caught:
        open_store(settings).open_for_reading(IndexSignature("model-b", "chunker-1"))
    assert "\n" not in str(caught.value)
    # (Not "this version uses": a changed chunk_tokens setting is the likelier cause.)
    with pytest.raises(IndexMismatchError, match=r"chunker-1, but chunker-2 is configured \(the chunk size and "
                                                 r"overlap settings, or a new version\)\. Re-index"):
        open_store(settings).open_for_reading(IndexSignature("model-a", "chunker-2"))


def test_writing_with_another_signature_drops_the_old_index(settings: Settings) -> None:
    store = _store(settings)
    store.upsert(*_chunks(3))
    again = open_store(settings)
    assert again.open_for_writing(SIGNATURE) is False and again.count() == 3
    other = IndexSignature("model-b", "chunker-1")
    assert again.open_for_writing(other) is True
    assert again.count() == 0 and open_store(settings).signature() == other


def test_upsert_get_query_delete(settings: Settings) -> None:
    store = _store(settings)
    ids, vectors, texts, metadatas = _chunks(6)
    store.upsert(ids, vectors, texts, metadatas)
    store.upsert(ids[:2], vectors[:2], texts[:2], metadatas[:2])  # upsert again: no duplicates
    assert store.count() == 6
    got = store.get([ids[3], "nope", ids[1]])
    assert [c.id for c in got] == [ids[3], ids[1]]  # asked order, unknown ids dropped
    assert got[0].text == texts[3] and got[0].metadata == metadatas[3]

    hits = store.query(np.array([0, 1, 0, 0], dtype=np.float32), n=2)
    assert {h.id for h in hits} == {ids[1], ids[5]}  # chunks 1 and 5 both point along axis 1
    assert all(h.similarity == pytest.approx(1.0, abs=1e-5) for h in hits)  # cosine space: 1 - distance
    filtered = store.query(np.array([0, 1, 0, 0], dtype=np.float32), n=1, where={"chunk": 5})
    assert [h.id for h in filtered] == [ids[5]]

    store.delete(ids[:4])
    assert sorted(c.id for c in store.iter_chunks()) == sorted(ids[4:])


def test_iter_chunks_pages_through_everything(settings: Settings) -> None:
    store = _store(settings)
    store.upsert(*_chunks(7, source="a.txt"))
    store.upsert(*_chunks(3, source="b.txt"))
    every = list(store.iter_chunks(batch=3))
    assert len(every) == 10 and len({c.id for c in every}) == 10
    assert all(c.text for c in every)
    assert all(c.text == "" for c in store.iter_chunks(documents=False, batch=4))
    only_b = list(store.iter_chunks(where={"source": "b.txt"}, batch=2))
    assert sorted(c.id for c in only_b) == [f"b.txt-{i}" for i in range(3)]


def test_writes_larger_than_the_servers_batch_limit_are_split(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(settings)
    monkeypatch.setattr(ChunkStore, "_max_batch", lambda self: 4)
    ids, vectors, texts, metadatas = _chunks(10)
    store.upsert(ids, vectors, texts, metadatas)
    assert store.count() == 10
    store.update_metadata(ids, [{"chunk": 100 + i} for i in range(10)])
    assert [c.metadata["chunk"] for c in store.get(ids)] == [100 + i for i in range(10)]
    assert [(c.text, c.metadata) for c in store.get(ids[::-1], metadata=False)] == [(t, {}) for t in texts[::-1]]
    assert list(store.vectors(ids)) == ids
    store.delete(ids[:9])
    assert store.count() == 1


def test_update_merges_metadata_and_keeps_the_vector(settings: Settings) -> None:
    """The indexer moves unchanged chunks with `update_metadata`; Chroma must merge the keys (the
    stored sentence vectors stay) and keep the embedding."""
    store = _store(settings)
    ids, vectors, texts, metadatas = _chunks(2)
    store.upsert(ids, vectors, texts, [m | {"sentvecs": "AAAA"} for m in metadatas])
    store.update_metadata([ids[0]], [{"source": "a.txt", "chunk": 7}])
    chunk = store.get([ids[0]])[0]
    assert chunk.metadata == {"source": "a.txt", "chunk": 7, "sentvecs": "AAAA"}
    assert [h.id for h in store.query(vectors[0], n=1)] == [ids[0]]


def test_drop_removes_the_collection(settings: Settings) -> None:
    store = _store(settings)
    store.upsert(*_chunks(2))
    store.drop()
    assert open_store(settings).signature() is None and open_store(settings).count() == 0
    with pytest.raises(IndexMissingError):
        _ = store.collection


def test_an_unreachable_server_is_one_line_naming_the_fix() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnavailableError, match=r"Cannot reach the Chroma server .*chroma run") as caught:
        make_client(url=f"http://127.0.0.1:{port}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://:8000", "http://localhost:abc", "localhost:99999", "ftp://chroma",
                                 "not a url", "http://localhost:0", "localhost:0"])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    """A bad port was "ValueError: Port could not be cast to integer value", a host with spaces or another scheme
    "Cannot reach the Chroma server" with a `chroma run --host not a url` to try; port 0 became 8000 unsaid."""
    with pytest.raises(IndexingError, match=rf"^BOT_CHROMA_URL {re.escape(repr(url))} is not a URL\. Use the form"):
        make_client(url=url)


def test_a_swapped_in_rebuild_is_not_left_marked_complete(settings: Settings) -> None:
    """The mark that lets the next open finish a swap cut short stayed on the index until its next write."""
    _store(settings).upsert(*_chunks(2))
    store = open_store(settings)
    side = store.beside(REBUILD_SUFFIX)
    side.open_for_writing(SIGNATURE)
    side.upsert(*_chunks(3, source="b.txt"))
    store.replace_with(side)
    index = open_store(settings)
    assert index.count() == 3 and index.signature() == SIGNATURE
    assert REBUILD_COMPLETE not in (index.collection.metadata or {})


def test_collection_names_must_be_chroma_legal() -> None:
    with pytest.raises(ValueError, match="at least 3 characters"):
        ChunkStore(object(), name="ab")


def test_a_failed_reconnect_is_tried_again_on_next_use() -> None:
    """`bot serve` reopens its embedded store when `bot index` saved a new index; if that fails (the database busy),
    the store must not be left on the closed client for good."""

    class Collection:
        def count(self) -> int:
            return 7

    class Client:
        closed = False

        def close(self) -> None:
            self.closed = True

        def list_collections(self) -> list[str]:
            return ["news"]

        def get_collection(self, name: str, embedding_function: object = None) -> Collection:
            return Collection()

    attempts: list[int] = []

    def connect() -> Client:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        return Client()

    first = Client()
    store = ChunkStore(first, name="news", connect=connect)
    store.reconnect()  # fails: logged, not raised
    assert first.closed and len(attempts) == 1
    assert store.count() == 7 and len(attempts) == 2  # opened again on next use
