"""ChunkStore against real Chroma, embedded and over HTTP (`chroma run`). Tiny 4-d vectors, no model."""
from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
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
from tests.index.chroma_process import ChromaProcess

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
    with pytest.raises(IndexingError, match=rf"^BOT_CHROMA_URL is not a URL: {re.escape(repr(url))}\. Use the form"):
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


# --- a Chroma server that fails mid-run --------------------------------------------------------------------------


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaProcess]:
    """A `chroma run` server of this test's own, which it may stop, restart and pause."""
    with ChromaProcess(tmp_path / "db") as process:
        yield process


def _server_store(settings: Settings, chroma: ChromaProcess, **changes: object) -> ChunkStore:
    store = _store(settings.replace(chroma_url=chroma.url, **changes))
    store.upsert(*_chunks(3))
    return store


@pytest.mark.slow
def test_a_server_lost_mid_run_is_one_line_naming_it_and_what_to_do(tmp_path: Path, chroma: ChromaProcess) -> None:
    """It was "ConnectError: [Errno 111] Connection refused" (the API's 500, the chat's end, every eval case)."""
    store = _server_store(Settings(data_dir=tmp_path / "data"), chroma)
    assert store.count() == 3
    chroma.stop()
    for call in (store.count, lambda: store.query(np.eye(4, dtype=np.float32)[0], n=2), lambda: store.get(["a.txt-0"]),
                 lambda: store.upsert(*_chunks(1, source="b.txt")), lambda: store.indexed_count()):
        with pytest.raises(StoreUnavailableError) as caught:
            call()
        assert str(caught.value) == (
            f"The Chroma server at {chroma.url} stopped answering (connection refused). Start it again with "
            f"`chroma run --path DIR --host 127.0.0.1 --port {chroma.port}`, then try again.")
    chroma.start()  # back: the same store object answers again
    assert store.count() == 3 and [c.id for c in store.get(["a.txt-1"])] == ["a.txt-1"]


@pytest.mark.slow
def test_a_stuck_server_fails_after_the_timeout_not_never(tmp_path: Path, chroma: ChromaProcess) -> None:
    """`kill -STOP` on the server hung `bot ask`, `/api/ask` and `/api/health` for good: no timeout anywhere."""
    settings = Settings(data_dir=tmp_path / "data", chroma_timeout=1.5)
    store = _server_store(settings, chroma, chroma_timeout=1.5)
    with chroma.paused():
        started = time.monotonic()
        stuck = rf"^The Chroma server at {chroma.url} did not answer within 1\.5 s: it is stopped, stuck or "
        with pytest.raises(StoreUnavailableError, match=stuck + r"overloaded\. .*chroma_timeout"):
            store.query(np.eye(4, dtype=np.float32)[0], n=2)
        assert time.monotonic() - started < 6
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"did not answer a heartbeat within 0\.5 s"):
            store.ping(timeout=0.5)  # (what /api/health asks: fast, whatever chroma_timeout is)
        assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"did not answer within 1\.5 s"):
            make_client(url=chroma.url, timeout=1.5)  # opening a client asked without a timeout, too
        assert time.monotonic() - started < 6
    assert store.count() == 3  # resumed: answers again


def test_the_timeout_reaches_chromadbs_http_session(chroma_url: str) -> None:
    """chromadb makes its httpx session with timeout=None and no setting for it; set_timeout reaches into it. If a
    chromadb upgrade moves the session, this fails (and `make_client` logs that it could not set one)."""
    import httpx

    client = make_client(url=chroma_url, timeout=7.0)
    session = client._target._server._session
    assert isinstance(session, httpx.Client)
    assert (session.timeout.read, session.timeout.connect) == (7.0, 5.0)


def test_the_index_count_for_health_checks(settings: Settings) -> None:
    store = open_store(settings)
    store.ping(timeout=1.0)  # reachable (embedded: nothing to ask)
    with pytest.raises(IndexMissingError, match="^No index in "):
        store.indexed_count()
    store = _store(settings)
    with pytest.raises(IndexMissingError):  # there, but empty
        store.indexed_count()
    store.upsert(*_chunks(2))
    assert store.indexed_count() == 2


@pytest.mark.slow
def test_a_server_restarted_on_an_empty_folder_has_no_index_naming_the_collection(
        tmp_path: Path, chroma: ChromaProcess) -> None:
    """A lost volume: the health check said "ok" from the keyword index in memory while every question was a 503."""
    store = _server_store(Settings(data_dir=tmp_path / "data", collection="other"), chroma)
    assert store.indexed_count() == 3
    chroma.start(tmp_path / "empty")
    with pytest.raises(IndexMissingError, match=rf"^No index in collection other on {re.escape(chroma.url)} yet\."):
        store.indexed_count()


class _NotChroma(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = b"<html>some other app</html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[int]:
    """A plain-HTTP server on loopback that is not Chroma (another app on the port given); yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotChroma)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_server_that_is_not_chroma_is_told_apart_from_one_that_is_down(other_server: int) -> None:
    """It was "Cannot reach the Chroma server ... (ValueError). Start it with `chroma run ...`": it was reachable."""
    url = f"http://127.0.0.1:{other_server}"
    with pytest.raises(StoreUnavailableError) as caught:
        make_client(url=url, named="chroma_url in bot.toml")
    assert str(caught.value) == (
        f"The server at {url} answered, but not as a Chroma server does (HTTP 404 for /api/v2/heartbeat). Check the "
        f"port in chroma_url in bot.toml; a Chroma server is started with `chroma run --path DIR --host 127.0.0.1 "
        f"--port {other_server}`.")


def test_https_to_a_plain_http_server_says_so(other_server: int) -> None:
    url = f"https://127.0.0.1:{other_server}"
    with pytest.raises(StoreUnavailableError, match=rf"^Cannot talk TLS \(https\) to the Chroma server at "
                                                     rf"{re.escape(url)} \(.*\)\. If it serves plain HTTP, as "
                                                     r"`chroma run` does, use http:// in BOT_CHROMA_URL\.$"):
        make_client(url=url)


def test_refused_at_start_names_the_setting_as_given() -> None:
    port = free_port()
    with pytest.raises(StoreUnavailableError) as caught:
        make_client(url=f"127.0.0.1:{port}", named="chroma_url in bot.toml",
                    leave_out="remove chroma_url from bot.toml")
    assert str(caught.value) == (
        f"Cannot reach the Chroma server at 127.0.0.1:{port} (connection refused). Start it with `chroma run --path "
        f"DIR --host 127.0.0.1 --port {port}`, or remove chroma_url from bot.toml to use the embedded store.")
