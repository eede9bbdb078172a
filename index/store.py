"""The chunk store: one Chroma collection, embedded (PersistentClient) or on a server (`chroma run`).

The collection records the embedding model and chunker it was built with, so a query against an index built
another way fails with a message that says to re-index, instead of returning nonsense.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import numpy as np

from index.errors import IndexingError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Explicit HNSW parameters: cosine space for unit vectors; a wider build/search beam than Chroma's defaults
# costs little at this size and keeps recall high.
HNSW_CONFIGURATION: dict[str, Any] = {
    "space": "cosine",
    "ef_construction": 200,
    "max_neighbors": 32,
    "ef_search": 128,
}


# A rebuild is written to the collection named like the index in use plus this, then swapped in (replace_with).
REBUILD_SUFFIX = "-rebuild"
# Set in a rebuild's collection metadata once it is complete, just before it is swapped in: only such a rebuild is
# taken up as the index when the index in use is gone (a run killed between dropping it and renaming the rebuild).
REBUILD_COMPLETE = "rebuild_complete"


class IndexMissingError(IndexingError):
    """There is no index yet (or it is empty)."""


class IndexMismatchError(IndexingError):
    """The index was built with another embedding model or chunker than the one configured."""


class StoreUnavailableError(IndexingError):
    """The Chroma server cannot be reached, stopped answering, or is not a Chroma server."""


@dataclass(frozen=True)
class IndexSignature:
    """What an index was built with; a query needs the same. (The model's name implies its dimension, so the
    signature can be known without loading the model.)"""

    embedding_model: str
    chunker: str

    def as_metadata(self) -> dict[str, str]:
        return {"embedding_model": self.embedding_model, "chunker": self.chunker}


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]
    # Cosine similarity to the query (1 - distance); None when not from a query.
    similarity: float | None = None


# Seconds a Chroma server may take over one request (the chroma_timeout setting): a server stopped with SIGSTOP, or
# stuck, then fails in one line instead of hanging every command and request for ever. Writes are batches of at most
# a few hundred chunks, well inside it.
DEFAULT_TIMEOUT = 30.0
# A server that does not take a connection within this is not going to (and `bot ask` should not wait out the rest).
CONNECT_TIMEOUT = 5.0


def make_client(*, path: Path | None = None, url: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                named: str = "BOT_CHROMA_URL", leave_out: str = "unset BOT_CHROMA_URL") -> Any:
    """An embedded client under `path`, or a client for a Chroma server at `url` (see ChromaServer).

    `named` and `leave_out` say how the user gave the URL ("chroma_url in bot.toml", "remove chroma_url from
    bot.toml"), for the messages: index/ does not know bot's settings."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        server = ChromaServer.parse(url, timeout=timeout, named=named, leave_out=leave_out)
        return server.connect(chroma_settings)
    if path is None:
        raise ValueError("make_client needs a path or a url.")
    if not (path / CHROMA_DATABASE).exists():
        return _ClientOnFirstWrite(path, chroma_settings)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass(frozen=True)
class ChromaServer:
    """A Chroma server (`chroma run`) as the user named it, and the one-line messages for when it fails us."""

    url: str
    host: str
    port: int
    https: bool
    timeout: float = DEFAULT_TIMEOUT
    named: str = "BOT_CHROMA_URL"
    leave_out: str = "unset BOT_CHROMA_URL"

    @classmethod
    def parse(cls, url: str, **options: Any) -> ChromaServer:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        try:
            port = parsed.port
        except ValueError:  # "host:abc", "host:99999"
            port = 0
        if port is None:  # (port 0, given, is no port to connect to: refused below)
            port = 443 if parsed.scheme == "https" else 8000
        if not parsed.hostname or not port or parsed.scheme not in ("http", "https") or re.search(
                r"[^\w.:-]", parsed.hostname, re.ASCII):
            raise IndexingError(f"{options.get('named', 'BOT_CHROMA_URL')} is not a URL: {url!r}. Use the form "
                                "http://HOST:PORT.")
        return cls(url=url, host=parsed.hostname, port=port, https=parsed.scheme == "https", **options)

    @property
    def start_it(self) -> str:
        return f"`chroma run --path DIR --host {self.host} --port {self.port}`"

    @property
    def api_url(self) -> str:
        return f"{'https' if self.https else 'http'}://{_url_host(self.host)}:{self.port}/api/v2"

    def connect(self, chroma_settings: Any) -> Any:
        """A client whose every call fails, if the server does, with a StoreUnavailableError (see _Guarded)."""
        import chromadb

        # Asked first, with the timeout: chromadb's client makes requests as it is made, before a timeout can be
        # set, so a stuck server hung it for ever; and it turns "refused" into a ValueError like any other.
        self._probe()
        try:
            client = chromadb.HttpClient(host=self.host, port=self.port, ssl=self.https, settings=chroma_settings)
        except Exception as exc:  # gone in the instant since the probe, or a tenant it refuses
            log.info("the Chroma client could not be made", exc_info=True)
            raise StoreUnavailableError(f"Cannot use the Chroma server at {self.url} ({_short(exc)}). Check it, or "
                                        f"{self.leave_out} to use the embedded store.") from None
        set_timeout(client, self.timeout)
        return _Guarded(client, self)

    def _probe(self) -> None:
        """A heartbeat: refused, timed out, TLS spoken to plain HTTP, or another kind of server, each in its line."""
        import httpx

        try:
            response = httpx.get(f"{self.api_url}/heartbeat",
                                 timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT)))
        except httpx.TransportError as exc:
            raise self.unavailable(exc, at_start=True) from None
        try:
            alive = response.status_code == 200 and "nanosecond heartbeat" in response.json()
        except (ValueError, TypeError):  # not JSON (a web page, another API), or not an object
            alive = False
        if not alive:
            raise StoreUnavailableError(
                f"The server at {self.url} answered, but not as a Chroma server does (HTTP {response.status_code} "
                f"for /api/v2/heartbeat). Check the port in {self.named}; a Chroma server is started with "
                f"{self.start_it}."
            )

    def unavailable(self, exc: BaseException, *, at_start: bool = False) -> StoreUnavailableError:
        """The one line for a transport failure: refused, timed out, TLS spoken to a plain-HTTP server, cut off."""
        import httpx

        text = str(exc)
        if isinstance(exc, httpx.TimeoutException):
            seconds = CONNECT_TIMEOUT if isinstance(exc, httpx.ConnectTimeout) else self.timeout
            message = (f"The Chroma server at {self.url} did not answer within {seconds:g} s: it is stopped, stuck "
                       "or overloaded. Check it, then try again (the chroma_timeout setting says how long to wait).")
        elif self.https and re.search(r"SSL|TLS|certificate", text, re.IGNORECASE):
            message = (f"Cannot talk TLS (https) to the Chroma server at {self.url} ({_short(exc)}). If it serves "
                       f"plain HTTP, as `chroma run` does, use http:// in {self.named}.")
        elif at_start:
            message = (f"Cannot reach the Chroma server at {self.url} ({_reason(exc)}). Start it with "
                       f"{self.start_it}, or {self.leave_out} to use the embedded store.")
        else:
            message = (f"The Chroma server at {self.url} stopped answering ({_reason(exc)}). Start it again with "
                       f"{self.start_it}, then try again.")
        return StoreUnavailableError(message)

    def ping(self, timeout: float) -> None:
        """A heartbeat that waits at most `timeout` seconds (a health check must be fast even when the server
        hangs); raises StoreUnavailableError."""
        import httpx

        try:
            httpx.get(f"{self.api_url}/heartbeat", timeout=timeout).raise_for_status()
        except httpx.TimeoutException:
            raise StoreUnavailableError(f"The Chroma server at {self.url} did not answer a heartbeat within "
                                        f"{timeout:g} s: it is stopped, stuck or overloaded.") from None
        except httpx.HTTPError as exc:
            raise self.unavailable(exc) from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def set_timeout(client: Any, seconds: float) -> None:
    """Give a chromadb HttpClient's HTTP session a timeout. chromadb (1.x) makes it with `timeout=None` and offers no
    setting for it, so a stuck server hung every caller for ever; its httpx session is the one place to set one. (A
    test checks this still reaches the session, so a chromadb upgrade that moves it is noticed.)"""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        log.warning("cannot set a timeout on this chromadb's HTTP client; a stuck Chroma server will hang requests")
        return
    session.timeout = httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def _reason(exc: BaseException) -> str:
    """'connection refused' rather than '[Errno 111] Connection refused'."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip()).rstrip(".") or type(exc).__name__
    return _short(text[:1].lower() + text[1:])


def _short(exc: object, limit: int = 80) -> str:
    """An exception (or text) on one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


class _Guarded:
    """A Chroma server's client, or one of its collections: every call as the object's own, except that a transport
    failure (the server stopped, killed, stuck past the timeout) becomes the StoreUnavailableError that names the
    server and what to do. Without it, `bot ask` said "ConnectError: [Errno 111] ...", the API answered 500, the
    chat ended and `bot eval` failed every remaining case on its own. Collections it returns are guarded too."""

    def __init__(self, target: Any, server: ChromaServer) -> None:
        self._target = target
        self._server = server

    def ping(self, timeout: float) -> None:
        self._server.ping(timeout)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            import httpx

            try:
                result = value(*args, **kwargs)
            except httpx.TransportError as exc:
                log.info("the Chroma server failed", exc_info=True)
                raise self._server.unavailable(exc) from None
            return _Guarded(result, self._server) if _is_collection(result) else result

        return call


def _is_collection(value: Any) -> bool:
    from chromadb.api.models.Collection import Collection

    return isinstance(value, Collection)


# The file an embedded Chroma keeps its index in.
CHROMA_DATABASE = "chroma.sqlite3"


class _ClientOnFirstWrite:
    """The embedded client of a folder that holds no index yet, opened (making the folder) only when it is needed:
    while there is no database, it lists no collection. A command that only reads, and so refuses ("No index in
    ... yet", as with a mistyped BOT_DATA_DIR), leaves nothing behind; `bot index` creates the index as before."""

    def __init__(self, path: Path, chroma_settings: Any) -> None:
        self._path = path
        self._settings = chroma_settings
        self._client: Any = None

    def _opened(self) -> Any:
        if self._client is None:
            import chromadb

            self._path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(self._path), settings=self._settings)
        return self._client

    def list_collections(self) -> Any:
        if self._client is None and not (self._path / CHROMA_DATABASE).exists():
            return []  # (until another process, `bot index`, makes the database)
        return self._opened().list_collections()

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):
            close()

    def __getattr__(self, name: str) -> Any:  # get_or_create_collection and the rest: the real client's
        return getattr(self._opened(), name)


def _unmark_complete(collection: Any) -> None:
    """Take the REBUILD_COMPLETE mark out of the collection's metadata, if it is there."""
    metadata = dict(collection.metadata or {})
    if REBUILD_COMPLETE in metadata:
        collection.modify(metadata={k: v for k, v in metadata.items() if k != REBUILD_COMPLETE})


class ChunkStore:
    """Chunks with their embeddings and metadata in one Chroma collection."""

    def __init__(self, client: Any, *, name: str, where_it_is: str = "",
                 connect: Callable[[], Any] | None = None) -> None:
        if len(name) < 3:
            raise ValueError(f"Collection name must have at least 3 characters. Currently, it is {name!r}.")
        self._client = client
        self.name = name
        self.where_it_is = where_it_is or name
        self._collection: Any = None
        # Opens a new client for an embedded store: see reconnect().
        self._connect = connect

    def reconnect(self) -> None:
        """See what another process wrote. An embedded Chroma keeps its vector index in memory and does not see the
        vectors `bot index` adds meanwhile; a new client, once this one is closed, reads them from disk. (A store on
        a Chroma server, or one given a client, only looks its collection up again: a rebuild swaps in another.)
        The caller makes sure no query is under way."""
        self._collection = None
        if self._connect is None:
            return
        close = getattr(self._client, "close", None)
        if callable(close):
            close()
        # (Closed first: Chroma shares one engine among the clients of a path, and a new client opened while the old
        # one is open gets the same stale engine. If opening fails, the next use tries again.)
        self._client = None
        try:
            self._client = self._connect()
        except Exception:  # e.g. the database busy while `bot index` writes
            log.warning("could not open the index again; the next question tries again", exc_info=True)

    def beside(self, suffix: str) -> ChunkStore:
        """The store of the collection named like this one plus `suffix`, on the same client (a rebuild is written
        there, then swapped in with replace_with)."""
        return ChunkStore(self._client, name=self.name + suffix, where_it_is=self.where_it_is)

    def replace_with(self, other: ChunkStore) -> None:
        """Put `other`'s collection in place of this one's, under this name; this one's goes. A reader still holding
        the old collection looks the name up again (see _on_current). `other` is marked complete first: killed
        between the two steps, the run leaves no index under this name, and the next open takes `other` up. Once
        renamed, it is unmarked."""
        new = other.collection
        new.modify(metadata=dict(new.metadata or {}) | {REBUILD_COMPLETE: True})
        current = self._named(self.name)
        if current is not None and current.id != new.id:  # (not when another process has just taken it up)
            self._client.delete_collection(self.name)
        new.modify(name=self.name)
        _unmark_complete(new)  # (named so, it is the index; the mark is only for a swap cut short)
        self._collection = other._collection = None

    def _on_current(self, call: Callable[[Any], T]) -> T:
        """`call(collection)`; when the collection held is gone (`bot index --rebuild` swapped in a new one under
        its name meanwhile), once more with the one under the name now."""
        from chromadb.errors import NotFoundError

        try:
            return call(self.collection)
        except NotFoundError:
            self._collection = None
            return call(self.collection)

    # --- opening -------------------------------------------------------------------------------------------

    def _existing(self) -> Any:
        if self._client is None and self._connect is not None:
            self._client = self._connect()
        if self._collection is None:
            names = self._names()
            if self.name in names:
                self._collection = self._client.get_collection(self.name, embedding_function=None)
            elif self.name + REBUILD_SUFFIX in names:
                self._collection = self._adopt_rebuild()
        return self._collection

    def _names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self._client.list_collections()]

    def _named(self, name: str) -> Any:
        """The collection called `name`, or None."""
        return self._client.get_collection(name, embedding_function=None) if name in self._names() else None

    def _adopt_rebuild(self) -> Any:
        """The index is gone but a complete rebuild is beside it: the run swapping it in was killed between dropping
        the old index and renaming the new one (see replace_with). Finish the swap. A rebuild that is not complete
        (interrupted while it was built) is never taken: it would answer from part of the articles."""
        from chromadb.errors import NotFoundError

        try:
            rebuilt = self._client.get_collection(self.name + REBUILD_SUFFIX, embedding_function=None)
            if not (rebuilt.metadata or {}).get(REBUILD_COMPLETE):
                return None
            rebuilt.modify(name=self.name)
            _unmark_complete(rebuilt)
        except NotFoundError:
            pass  # renamed meanwhile: the run swapping it in (or another reader) finished the swap
        else:
            log.warning("A `bot index` was stopped while it swapped a complete rebuild in; the swap is finished now, "
                        "and the rebuild is the index in %s.", self.where_it_is)
        return self._named(self.name)

    def exists(self) -> bool:
        """Whether the collection is there (it may be empty)."""
        return self._existing() is not None

    def signature(self) -> IndexSignature | None:
        collection = self._existing()
        if collection is None:
            return None
        meta = collection.metadata or {}
        if "embedding_model" not in meta:
            return None
        return IndexSignature(str(meta["embedding_model"]), str(meta.get("chunker", "")))

    def open_for_writing(self, signature: IndexSignature) -> bool:
        """Open (creating if needed) for `signature`. An index built another way is dropped first: returns True
        when that happened, so the caller can say it rebuilt."""
        current = self.signature()
        rebuilt = False
        if self._existing() is not None and current != signature:
            log.warning("index %s was built with %s; rebuilding for %s", self.name, current, signature)
            self.drop()
            rebuilt = True
        if self._collection is None:
            self._collection = self._client.get_or_create_collection(
                self.name,
                configuration={"hnsw": dict(HNSW_CONFIGURATION)},
                metadata=signature.as_metadata(),
                embedding_function=None,
            )
        else:
            # Written to again, it is no longer a complete rebuild (a --rebuild taking up one killed before its swap).
            _unmark_complete(self._collection)
        return rebuilt

    def open_for_reading(self, signature: IndexSignature) -> None:
        """Check that an index exists and was built like `signature`; raise a one-line error otherwise."""
        current = self.signature()
        if current is None or self.count() == 0:
            raise IndexMissingError(
                f"No index in {self.where_it_is} yet. Build it with `bot index [FOLDER ...]` (default: seeds/)."
            )
        if current.embedding_model != signature.embedding_model:
            raise IndexMismatchError(
                f"The index in {self.where_it_is} was built with the embedding model {current.embedding_model} "
                f"but {signature.embedding_model} is configured. Re-index with `bot index --rebuild`."
            )
        if current.chunker != signature.chunker:
            raise IndexMismatchError(
                f"The index in {self.where_it_is} was built with chunker {current.chunker}, but {signature.chunker} "
                "is configured (the chunk size and overlap settings, or a new version). Re-index with `bot index`."
            )

    def drop(self) -> None:
        if self._existing() is not None:
            self._client.delete_collection(self.name)
        self._collection = None

    @property
    def collection(self) -> Any:
        collection = self._existing()
        if collection is None:
            raise IndexMissingError(
                f"No index in {self.where_it_is} yet. Build it with `bot index [FOLDER ...]` (default: seeds/)."
            )
        return collection

    # --- reading -------------------------------------------------------------------------------------------

    def count(self) -> int:
        collection = self._existing()
        return 0 if collection is None else int(collection.count())

    def ping(self, *, timeout: float) -> None:
        """On a Chroma server, a heartbeat waiting at most `timeout` seconds (StoreUnavailableError otherwise); an
        embedded store has nothing to ask."""
        # (Only a server's client has one; asked for it, an embedded _ClientOnFirstWrite would open its folder.)
        if isinstance(self._client, _Guarded):
            self._client.ping(timeout)

    def indexed_count(self) -> int:
        """The chunks in the index as the store has them now, for a health check: IndexMissingError when the
        collection is gone or empty (a server restarted on an empty folder), StoreUnavailableError when the server
        fails."""
        count = int(self._on_current(lambda collection: collection.count()))
        if count == 0:
            raise IndexMissingError(
                f"No index in {self.where_it_is} yet. Build it with `bot index [FOLDER ...]` (default: seeds/)."
            )
        return count

    def query(
        self, embedding: np.ndarray, *, n: int, where: Mapping[str, Any] | None = None
    ) -> list[StoredChunk]:
        result = self._on_current(lambda collection: collection.query(
            query_embeddings=[np.asarray(embedding, dtype=np.float32).tolist()],
            n_results=n,
            where=dict(where) if where else None,
            include=["documents", "metadatas", "distances"],
        ))
        return [
            StoredChunk(id=i, text=d or "", metadata=dict(m or {}), similarity=1.0 - float(dist))
            for i, d, m, dist in zip(result["ids"][0], result["documents"][0], result["metadatas"][0],
                                     result["distances"][0], strict=True)
        ]

    def get(self, ids: Sequence[str], *, metadata: bool = True) -> list[StoredChunk]:
        """Stored chunks in the order asked (missing ids are left out), read in batches; `metadata=False` reads
        the texts alone (a chunk's metadata carries its sentence vectors, about 10 KB)."""
        by_id: dict[str, StoredChunk] = {}
        for result in self._get_batches(ids, ["documents", "metadatas"] if metadata else ["documents"]):
            metadatas = result.get("metadatas") or [None] * len(result["ids"])
            by_id.update({i: StoredChunk(id=i, text=d or "", metadata=dict(m or {}))
                          for i, d, m in zip(result["ids"], result["documents"], metadatas, strict=True)})
        return [by_id[i] for i in ids if i in by_id]

    def vectors(self, ids: Sequence[str]) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
        """Stored chunks' embeddings and metadata by id (missing ids are left out), read in batches."""
        found: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
        for result in self._get_batches(ids, ["embeddings", "metadatas"]):
            for i, vector, meta in zip(result["ids"], result["embeddings"], result["metadatas"], strict=True):
                found[i] = (np.asarray(vector, dtype=np.float32), dict(meta or {}))
        return found

    def _get_batches(self, ids: Sequence[str], include: list[str]) -> Iterator[Any]:
        """The store's answers for these ids, asked in batches it accepts."""
        step = self._max_batch()
        for start in range(0, len(ids), step):
            part = list(ids[start:start + step])
            yield self._on_current(lambda collection, part=part: collection.get(ids=part, include=include))

    def iter_chunks(
        self, *, where: Mapping[str, Any] | None = None, documents: bool = True, batch: int = 2000
    ) -> Iterator[StoredChunk]:
        """Every chunk (or those matching `where`), in pages, with metadata and optionally text."""
        collection = self._existing()
        if collection is None:
            return
        include = ["metadatas", "documents"] if documents else ["metadatas"]
        offset = 0
        while True:
            page = collection.get(where=dict(where) if where else None, include=include, limit=batch, offset=offset)
            docs = page.get("documents") or [None] * len(page["ids"])
            for i, d, m in zip(page["ids"], docs, page["metadatas"], strict=True):
                yield StoredChunk(id=i, text=d or "", metadata=dict(m or {}))
            if len(page["ids"]) < batch:
                return
            offset += batch

    # --- writing -------------------------------------------------------------------------------------------

    def _max_batch(self) -> int:
        try:
            return max(1, int(self._client.get_max_batch_size()))
        except StoreUnavailableError:  # the server is gone: say so now, not after a second wait
            raise
        except Exception:  # older servers do not say; Chroma's documented floor is safe
            return 1000

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        step = self._max_batch()
        for start in range(0, len(ids), step):
            stop = start + step
            self.collection.upsert(
                ids=list(ids[start:stop]),
                embeddings=np.asarray(embeddings[start:stop], dtype=np.float32),
                documents=list(texts[start:stop]),
                metadatas=[dict(m) for m in metadatas[start:stop]],
            )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[Mapping[str, Any]]) -> None:
        """Merge new metadata into stored chunks (their vectors and other keys stay), in batches the store accepts."""
        step = self._max_batch()
        for start in range(0, len(ids), step):
            stop = start + step
            self.collection.update(ids=list(ids[start:stop]), metadatas=[dict(m) for m in metadatas[start:stop]])

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:  # (nothing to open the store for: `bot remove` of what is not indexed)
            return
        step = self._max_batch()
        for start in range(0, len(ids), step):
            self.collection.delete(ids=list(ids[start:start + step]))
