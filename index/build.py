"""`bot index`: keep the store in sync with the corpus folders, embedding only what changed.

A file whose bytes are unchanged and whose chunks are all present is skipped without parsing. A changed file has
its stale chunks removed just before its new ones are written; unchanged chunk texts keep their ids and vectors.
A deleted file has its chunks removed. Chunk ids derive from the text, so an interrupted run leaves no duplicates
and the next run writes only what is missing. A file or folder skipped unread (it cannot be read or listed now, or
is not a regular file) keeps what was indexed from it. A rebuild is written beside the index in use, which answers
until the new one replaces it, complete.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.articles import ARTICLE_PARSER_VERSION, BYLINE_KEYS, Article, split_articles
from index.bm25 import BM25Index, analyze, ids_digest, remove_directory, replace_directory
from index.chunking import CHUNKER_VERSION, Chunk, Chunker
from index.embedder import Embedder
from index.errors import IndexingError, ModelError, UnreadableError
from index.loaders import Skipped, SourceFile, discover_files, load_file, read_bytes
from index.store import REBUILD_SUFFIX, ChunkStore, IndexSignature
from index.tokens import TiktokenCounter

log = logging.getLogger(__name__)

# Chunks are embedded and written in batches this big: large enough to keep the model busy, small enough that an
# interrupted run loses little.
WRITE_BATCH = 1024
# Within a batch, chunks go to the model this many at a time; on Ctrl-C the ones already embedded are written, so
# an interrupted run (a first one too) keeps all but the last few.
EMBED_STEP = 16
# Added to the one-line report of a file or folder skipped unread that has articles in the index.
KEPT = " Its articles already in the index are kept."
REBUILDING = "The index was built with another model or chunker; rebuilding it from the given folders."
# Said by a plain `bot index` while a rebuild's collection is there. It is kept: the next --rebuild takes it up
# without embedding again what it holds, and it may be a rebuild still running in another process.
REBUILD_LEFT = ("An interrupted `bot index --rebuild` (or one still running) left a partial new index beside the one "
                "in use; this run updated the one in use. Run `bot index --rebuild` to finish it and swap it in.")


@dataclass
class IndexSummary:
    files: int = 0
    articles: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    files_unchanged: int = 0
    files_skipped: int = 0
    # Of those skipped, folders that could not be listed (no file in them was found, so none "could not be read").
    folders_skipped: int = 0
    files_removed: int = 0
    # New chunks that took the vectors of a moved file's identical chunks instead of being embedded.
    chunks_reused: int = 0
    # Chunks of a re-read file whose text is unchanged: their metadata was rewritten, their vectors kept.
    chunks_refreshed: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def chunks_embedded(self) -> int:
        return self.chunks_added + self.chunks_updated - self.chunks_reused

    def line(self) -> str:
        return (f"Indexed {counted(self.files, 'file')}, {counted(self.articles, 'article')}: "
                f"{counted(self.chunks_added, 'chunk')} added, "
                f"{self.chunks_updated} updated, {self.chunks_removed} removed, "
                f"{counted(self.files_skipped - self.folders_skipped, 'file')} skipped"
                + (f", {counted(self.folders_skipped, 'folder')} unreadable" if self.folders_skipped else "")
                + f" ({counted(self.chunks_total, 'chunk')} in the index"
                + (f"; {self.chunks_reused} moved without embedding again" if self.chunks_reused else "")
                + (f"; {self.chunks_refreshed} re-read, their details refreshed without embedding again"
                   if self.chunks_refreshed else "")
                + f") in {self.seconds:.1f}s.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"chunks_embedded": self.chunks_embedded}


def dropped_folders(left_out: Sequence[str]) -> str:
    """What `bot index --rebuild FOLDER` says of the folders the index held that it did not name: they were dropped
    without a word, and their articles stopped answering."""
    return (f"The rebuilt index leaves out the articles indexed from {', '.join(left_out)}: the given folders do not "
            "include them. Index them again to bring them back (`bot index --rebuild` with every folder keeps them).")


def counted(n: int, noun: str) -> str:
    """The count with its noun: "1 file", "2 files"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class PreparedChunk:
    id: str
    text: str
    metadata: dict[str, Any]
    sentences: tuple[tuple[int, int], ...]


@dataclass
class _FileWork:
    key: tuple[str, str]
    stale_ids: list[str]
    new_chunks: list[PreparedChunk]
    stale_deleted: bool = False
    updates_counted: int = 0

    @property
    def replaced(self) -> int:
        """How many of the new chunks take the place of stale ones: counted as updated, neither added nor removed,
        so that added minus removed is what the index gained. (Counted per file, a re-run after a kill -9 said
        "0 chunks added, 5502 updated" of chunks that were new.)"""
        return min(len(self.new_chunks), len(self.stale_ids))


def _text_digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def chunk_id(corpus: str, source: str, text: str, occurrence: int) -> str:
    digest = hashlib.sha1(f"{corpus}\x1f{source}\x1f{occurrence}\x1f{text}".encode()).hexdigest()
    return digest[:24]


def file_path(corpus: str, source: str) -> str:
    """The absolute path of an indexed file from its chunk metadata: `corpus` is the folder it was indexed
    through, or the file itself when it was given directly (then `source` is its name)."""
    root = Path(corpus)
    return corpus if root.name == source and not root.is_dir() else str(root / source)


def _as_indexed(file: SourceFile, key: tuple[str, str] | None) -> SourceFile:
    """`file` under the (corpus, source) it is already indexed as, when that is another way of reaching it."""
    if key is None or key == (str(file.root), file.source):
        return file
    return SourceFile(path=file.path, root=Path(key[0]), source=key[1])


def article_id(corpus: str, source: str, position: int) -> str:
    return hashlib.sha1(f"{corpus}\x1f{source}\x1f{position}".encode()).hexdigest()[:16]


def pack_vectors(vectors: np.ndarray) -> str:
    """Sentence vectors travel in chunk metadata as base64 float16 (Chroma metadata holds only scalars)."""
    return base64.b64encode(np.asarray(vectors, dtype=np.float16).tobytes()).decode("ascii")


def unpack_vectors(packed: str, dimension: int) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(packed), dtype=np.float16)
    return raw.reshape(-1, dimension).astype(np.float32)


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]{2,}")


def article_names(article: Article) -> str:
    """The article's capitalised words as analysed terms: a chunk is about its article's subject even when only
    another chunk names it."""
    return " ".join(sorted({t for w in _CAPITALISED.findall(f"{article.title} {article.body}") for t in analyze(w)}))


def _published_ts(published: str | None) -> int:
    return int(published.replace("-", "")) if published else 0


def _is_gone(path: str) -> bool:
    """Nothing is at `path` any more. A path that cannot be looked at (its folder cannot be listed) is not gone."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _removal_paths(path: Path, *, indexed_roots: set[str]) -> tuple[set[Path], set[Path]]:
    """What `bot remove PATH` takes out: the files stored under the first set of paths, and the files whose real
    path is under the second, however they are stored (a file is stored once, under the way it was first reached).

    A path is taken as given (a link inside an indexed folder names the files read through it) and as resolved. A
    link itself is resolved only up to its own name: its target may be the corpus (`loop -> .`) or a folder indexed
    only through another link. Its target counts when the link was what `bot index` was given, as far as the index
    can tell: the target is a file or folder `bot index` was given (it stores a given link under its target, and a
    file given directly is its own root), and not a folder around the link (a loop reads nothing through it). A
    link to a file indexed within a folder names nothing: removing it would take out the real article."""
    given = Path(os.path.abspath(Path(path).expanduser()))
    if not given.is_symlink():
        return {given, given.resolve()}, set()
    folder = Path(os.path.realpath(given.parent))
    target = Path(os.path.realpath(given))
    read_through = str(target) in indexed_roots and not folder.is_relative_to(target)
    return {given, folder / given.name}, {target} if read_through else set()


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C (or SIGTERM) during the block takes effect once it is done (a swap half done would leave no index).
    Only the main thread receives signals; elsewhere the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    # (A handler None was set outside Python and cannot be put back: that signal is left alone.)
    previous = {number: signal.signal(number, lambda signum, frame: caught.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(number) is not None}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for number in dict.fromkeys(caught):
        signal.raise_signal(number)  # now, to whatever handles it (an ignored one stays ignored)


class Indexer:
    """Builds and syncs one index. Collaborators are passed in so tests can hand in small real ones."""

    def __init__(
        self,
        *,
        store: ChunkStore,
        embedder: Embedder,
        bm25_dir: Path,
        max_wordpieces: int = 200,
        overlap_sentences: int = 1,
        progress: bool = True,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.bm25_dir = bm25_dir
        self.max_wordpieces = max_wordpieces
        self.overlap_sentences = overlap_sentences
        self.progress = progress
        self._chunker: Chunker | None = None
        self._tokens = TiktokenCounter()

    @property
    def signature(self) -> IndexSignature:
        return index_signature(self.embedder, max_wordpieces=self.max_wordpieces,
                               overlap_sentences=self.overlap_sentences)

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            limit = min(self.max_wordpieces, self.embedder.max_wordpieces)
            self._chunker = Chunker(count_wordpieces=self.embedder.count_wordpieces, count_tokens=self._tokens.count,
                                    max_wordpieces=limit, overlap_sentences=self.overlap_sentences,
                                    count_wordpieces_many=self.embedder.count_wordpieces_many)
        return self._chunker

    def run(
        self,
        roots: Sequence[Path],
        *,
        rebuild: bool = False,
        on_warning: Callable[[str], None] | None = None,
    ) -> IndexSummary:
        """Bring the index in line with the files under `roots`. `rebuild`: build it again from these files alone,
        beside the index in use, which answers until the new one replaces it; an interrupted rebuild is taken up
        by the next."""
        if rebuild:
            return self._rebuild(roots, on_warning=on_warning)
        if self.store.signature() not in (None, self.signature):
            # Built with another model or chunker: every chunk is embedded again, beside the index in use, so an
            # interrupted run leaves it as it was (and the next run takes up the new one).
            return self._rebuild(roots, on_warning=on_warning, mismatched=True)
        summary = self._sync(roots, on_warning=on_warning)
        if self.store.beside(REBUILD_SUFFIX).count():  # (an empty one, left by a failed start, holds nothing)
            summary.warnings.append(REBUILD_LEFT)
            (on_warning or (lambda message: log.warning("%s", message)))(REBUILD_LEFT)
        return summary

    def _rebuild(self, roots: Sequence[Path], *, on_warning: Callable[[str], None] | None,
                 mismatched: bool = False) -> IndexSummary:
        started = time.perf_counter()
        warn = on_warning or (lambda message: log.warning("%s", message))
        # Opened first, the index in use finishes a swap a killed rebuild left half done (see ChunkStore), so that
        # rebuild answers while this one is written beside it.
        self.store.exists()
        said: list[str] = []
        left_out = self._left_out(roots)
        if mismatched:
            said.append(REBUILDING)
            if left_out:
                said.append(f"The index also held articles indexed from {', '.join(left_out)}; the given folders do "
                            "not include them, so the new index leaves them out. Pass them too to keep them.")
            for message in said:
                warn(message)
        side = Indexer(store=self.store.beside(REBUILD_SUFFIX), embedder=self.embedder,
                       bm25_dir=self.bm25_dir.with_name(self.bm25_dir.name + REBUILD_SUFFIX),
                       max_wordpieces=self.max_wordpieces, overlap_sentences=self.overlap_sentences,
                       progress=self.progress)
        side._chunker, side._tokens = self._chunker, self._tokens
        if side.store.signature() not in (None, self.signature):
            side.store.drop()  # left by a rebuild for another model or chunker
        summary = side._sync(roots, on_warning=warn, exact=True)
        summary.warnings[:0] = said
        summary.rebuilt = summary.rebuilt or mismatched
        if side.store.count() == 0 and self.store.count() > 0:
            summary.warnings.append("Nothing could be indexed from the given folders; the index in use is left as "
                                    "it was.")
            warn(summary.warnings[-1])
            # Empty, so nothing is lost; left there, every plain `bot index` would report it (REBUILD_LEFT).
            side.store.drop()
            remove_directory(side.bm25_dir)
        else:
            with _interrupts_deferred():
                self.store.replace_with(side.store)
                replace_directory(side.bm25_dir, self.bm25_dir)
            if left_out and not mismatched:  # (said before it started, when the model changed)
                summary.warnings.append(dropped_folders(left_out))
                warn(summary.warnings[-1])
        summary.chunks_total = self.store.count()
        summary.seconds = time.perf_counter() - started
        return summary

    def _sync(
        self,
        roots: Sequence[Path],
        *,
        on_warning: Callable[[str], None] | None,
        exact: bool = False,
    ) -> IndexSummary:
        """`exact`: the index is to hold these files alone (a rebuild's, taking up an interrupted one): files
        indexed from anywhere else go."""
        started = time.perf_counter()
        summary = IndexSummary()
        warn = on_warning or (lambda message: log.warning("%s", message))

        def report(message: str) -> None:
            summary.warnings.append(message)
            warn(message)

        skipped: list[Skipped] = []
        files = discover_files([Path(r) for r in roots], skipped=skipped)
        summary.rebuilt = self.store.open_for_writing(self.signature)
        if summary.rebuilt:
            report(REBUILDING)
        existing = self._existing_files()
        for item in skipped:
            summary.files_skipped += 1
            summary.folders_skipped += item.folder
            indexed = any(Path(entry["path"]).is_relative_to(item.path) for entry in existing.values())
            report(item.message + (KEPT if indexed else ""))
        # A file is one file however it is reached: through its folder, directly, or through a folder inside
        # another. The identity it was first indexed under stays, so it is never stored twice.
        indexed_at = {entry["path"]: key for key, entry in existing.items()}
        if files and existing:  # through a link too
            indexed_at = {os.path.realpath(path): key for path, key in indexed_at.items()} | indexed_at
        files = [_as_indexed(file, indexed_at.get(str(file.path)) or indexed_at.get(os.path.realpath(file.path)))
                 for file in files]
        hashes: dict[Path, str] = {}  # a file's bytes are read and hashed once per run
        moved = self._moved_files(files, existing, hashes)

        work: list[_FileWork] = []
        seen: set[tuple[str, str]] = set()
        for file in files:
            key = (str(file.root), file.source)
            seen.add(key)
            try:
                item = self._plan_file(file, existing.get(key), summary, report=report, sha=hashes.get(file.path))
            except ModelError:  # not the file's fault: every file would fail the same way
                raise
            except UnreadableError as exc:  # there, but not to be read now: its articles stay
                summary.files_skipped += 1
                report(str(exc) + (KEPT if key in existing else ""))
                continue
            except IndexingError as exc:
                summary.files_skipped += 1
                report(str(exc))
                if key in existing:  # it was indexed before: its old text must not keep answering questions
                    self.store.delete(existing[key]["ids"])
                    summary.chunks_removed += len(existing[key]["ids"])
                continue
            summary.files += 1
            if item is not None:
                work.append(item)

        self._remove_deleted_files(roots, files, existing, seen, summary, kept=[item.path for item in skipped],
                                   exact=exact)
        changed = self._write(work, summary, moved)
        # A moved file's old chunks go once its new ones are written: a crash before leaves both, and the next
        # run finds the pair again.
        self._remove([entry for entry in moved if not entry.get("removed")], summary)
        # `work` also holds changed files whose chunk texts all survived (a new date or headline): the sidecar keeps
        # titles and dates for filters, and its id digest cannot see them change.
        # With nothing written or removed, the store holds exactly the ids read at the start: no second scan.
        unchanged_ids = (chunk_id for entry in existing.values() for chunk_id in entry["ids"])
        if changed or work or summary.chunks_removed or summary.rebuilt or not self._bm25_fresh(unchanged_ids):
            self.sync_bm25()
        summary.chunks_total = self.store.count()
        summary.seconds = time.perf_counter() - started
        return summary

    def remove(self, paths: Sequence[Path]) -> IndexSummary:
        """Take the articles of these files, or of every file under these folders, out of the index; the paths need
        not exist any more (a folder deleted or on a drive that is gone). The files themselves are not touched."""
        started = time.perf_counter()
        summary = IndexSummary()
        existing = self._existing_files()
        roots = {corpus for corpus, _ in existing}

        @functools.cache  # each indexed file's real path is looked up once, and only for a link's target
        def real_path(path: str) -> Path:
            return Path(os.path.realpath(path))

        entries: dict[tuple[str, str], dict[str, Any]] = {}
        for path in paths:
            wanted, targets = _removal_paths(path, indexed_roots=roots)
            found = {key: entry for key, entry in existing.items()
                     if any(Path(entry["path"]).is_relative_to(p) for p in wanted)
                     or any(real_path(entry["path"]).is_relative_to(t) for t in targets)}
            if not found:  # (a typo beside paths that were taken out is not to pass unseen)
                summary.warnings.append(f"Nothing is indexed under {path}.")
            entries |= found
        self._remove(list(entries.values()), summary)
        if entries:
            self.sync_bm25()
        summary.chunks_total = self.store.count()
        summary.seconds = time.perf_counter() - started
        return summary

    def _left_out(self, roots: Sequence[Path]) -> list[str]:
        """The folders (or files given directly) the index was built from that are outside `roots`."""
        given = [Path(r).expanduser().resolve() for r in roots]
        indexed = {str(chunk.metadata.get("corpus", "")) for chunk in self.store.iter_chunks(documents=False)}
        return sorted(corpus for corpus in indexed if corpus and not any(Path(corpus).is_relative_to(g) for g in given))

    # --- planning -----------------------------------------------------------------------------------------

    def _existing_files(self) -> dict[tuple[str, str], dict[str, Any]]:
        """What the store holds, per (corpus, source): chunk ids, file hash, expected chunk count, articles."""
        files: dict[tuple[str, str], dict[str, Any]] = {}
        for chunk in self.store.iter_chunks(documents=False):
            meta = chunk.metadata
            key = (str(meta.get("corpus", "")), str(meta.get("source", "")))
            entry = files.setdefault(key, {"ids": [], "shas": set(), "file_chunks": meta.get("file_chunks", -1),
                                           "articles": set(), "path": file_path(*key), "parsers": set()})
            entry["ids"].append(chunk.id)
            entry["shas"].add(meta.get("file_sha"))
            entry["parsers"].add(meta.get("parser", 1))
            entry["articles"].add(meta.get("article"))
        return files

    def _plan_file(
        self,
        file: SourceFile,
        existing: dict[str, Any] | None,
        summary: IndexSummary,
        *,
        report: Callable[[str], None],
        sha: str | None = None,
    ) -> _FileWork | None:
        if sha is None:
            sha = hashlib.sha256(read_bytes(file.path)).hexdigest()
        if (existing and existing["shas"] == {sha} and len(existing["ids"]) == existing["file_chunks"]
                and existing["parsers"] == {ARTICLE_PARSER_VERSION}):
            summary.files_unchanged += 1
            summary.articles += len(existing["articles"])
            return None
        document = load_file(file)
        for message in document.warnings:
            report(message)
        articles = split_articles(document)
        summary.articles += len(articles)
        prepared = self._prepare(file, document.sha256, articles)
        old_ids = set(existing["ids"]) if existing else set()
        new_ids = {c.id for c in prepared}
        kept = [c for c in prepared if c.id in old_ids]
        if kept:  # positions or file hash may have moved; no need to embed again
            # Chroma merges metadata on update: a byline line deleted from the file must be unset explicitly.
            gone = {key: None for key in BYLINE_KEYS}
            self.store.update_metadata([c.id for c in kept], [gone | c.metadata for c in kept])
            summary.chunks_refreshed += len(kept)
        return _FileWork(
            key=(str(file.root), file.source),
            stale_ids=sorted(old_ids - new_ids),
            new_chunks=[c for c in prepared if c.id not in old_ids],
        )

    def _prepare(self, file: SourceFile, sha: str, articles: Sequence[Article]) -> list[PreparedChunk]:
        corpus = str(file.root)
        pieces: list[tuple[Article, Chunk]] = []
        for article in articles:
            for chunk in self.chunker.chunk(article.body, page_starts=article.page_starts,
                                            soft_breaks=article.soft_breaks):
                pieces.append((article, chunk))
        occurrences: dict[str, int] = {}
        prepared = []
        names = {article.position: article_names(article) for article in articles}
        for article, chunk in pieces:
            occurrence = occurrences.get(chunk.text, 0)
            occurrences[chunk.text] = occurrence + 1
            metadata: dict[str, Any] = {
                "source": file.source,
                "corpus": corpus,
                "title": article.title,
                "published": article.published or "",
                "published_ts": _published_ts(article.published),
                "published_time": article.published_time or "",
                "parser": ARTICLE_PARSER_VERSION,
                "article": article.position,
                "article_id": article_id(corpus, file.source, article.position),
                "chunk": chunk.index,
                "start": chunk.start,
                "end": chunk.end,
                "n_tokens": chunk.n_tokens,
                "n_wordpieces": chunk.n_wordpieces,
                "page": chunk.page if chunk.page is not None else -1,
                "tags": "|".join(article.tags),
                "file_sha": sha,
                "file_chunks": len(pieces),
                "sentences": json.dumps([list(span) for span in chunk.sentences]),
                "names": names[article.position],
            }
            metadata.update({k: v for k, v in article.byline.items() if v})
            prepared.append(PreparedChunk(chunk_id(corpus, file.source, chunk.text, occurrence), chunk.text,
                                          metadata, tuple(chunk.sentences)))
        return prepared

    def _remove_deleted_files(
        self,
        roots: Sequence[Path],
        files: Sequence[SourceFile],
        existing: dict[tuple[str, str], dict[str, Any]],
        seen: set[tuple[str, str]],
        summary: IndexSummary,
        *,
        kept: Sequence[Path] = (),
        exact: bool = False,
    ) -> None:
        # Only folders are scanned whole, so only under a folder can a missing file mean a deleted one (whether it
        # was indexed through that folder or on its own). A second copy of a file indexed now (stored twice by
        # an older version) goes too. Under a folder that could not be listed nothing is known to be gone.
        folders = [Path(r).resolve() for r in roots if os.path.isdir(r)]
        indexed_now = {str(f.path) for f in files}
        # (A moved file's old chunks lend their vectors first: they go after writing.)
        self._remove([entry for key, entry in existing.items()
                      if key not in seen and not entry.get("removed") and not entry.get("moved")
                      and not any(Path(entry["path"]).is_relative_to(k) for k in kept)
                      and (exact or entry["path"] in indexed_now
                           or any(Path(entry["path"]).is_relative_to(f) for f in folders))], summary)

    def _moved_files(self, files: Sequence[SourceFile], existing: dict[tuple[str, str], dict[str, Any]],
                     hashes: dict[Path, str]) -> list[dict[str, Any]]:
        """Files indexed before that are gone from their place while the same bytes are being indexed elsewhere (a
        renamed or moved folder): their text lives on under the new path, so their old chunks are to go (and lend
        their vectors). A file that is merely gone (an unplugged drive) is kept until its folder is indexed again."""
        keys = {(str(f.root), f.source) for f in files}
        gone = {key: entry for key, entry in existing.items()
                if key not in keys and len(entry["shas"]) == 1 and _is_gone(entry["path"])}
        by_sha: dict[str, list[dict[str, Any]]] = {}
        for entry in gone.values():
            by_sha.setdefault(next(iter(entry["shas"])), []).append(entry)
        moved: list[dict[str, Any]] = []
        for file in files:
            if not by_sha:
                break
            indexed = existing.get((str(file.root), file.source))
            if indexed is not None:
                # Already at the new place: the leftover of a move that was interrupted.
                sha = next(iter(indexed["shas"])) if len(indexed["shas"]) == 1 else None
            else:
                try:
                    sha = hashes[file.path] = hashlib.sha256(read_bytes(file.path)).hexdigest()
                except IndexingError:
                    continue  # reported when the file is planned
            moved.extend(by_sha.pop(sha, []) if sha else [])
        for entry in moved:
            entry["moved"] = True
        return moved

    def _vector_donors(self, moved: Sequence[dict[str, Any]]) -> dict[str, str]:
        """Chunk text digest -> the id of a moved file's chunk with that text, whose vectors a new chunk may take."""
        donors: dict[str, str] = {}
        for chunk in self.store.get([chunk_id for entry in moved for chunk_id in entry["ids"]], metadata=False):
            donors.setdefault(_text_digest(chunk.text), chunk.id)
        return donors

    def _remove(self, entries: Sequence[dict[str, Any]], summary: IndexSummary) -> None:
        """Remove files' chunks, in one store call per batch (each call costs tens of milliseconds)."""
        self.store.delete([chunk_id for entry in entries for chunk_id in entry["ids"]])
        for entry in entries:
            entry["removed"] = True
            summary.chunks_removed += len(entry["ids"])
            summary.files_removed += 1

    # --- writing ------------------------------------------------------------------------------------------

    def _write(self, work: Sequence[_FileWork], summary: IndexSummary, moved: Sequence[dict[str, Any]]) -> bool:
        pending = [(item, chunk) for item in work for chunk in item.new_chunks]
        # Files with nothing new still lose their stale chunks.
        self._delete_stale([item for item in work if not item.new_chunks], summary)
        if not pending:
            return False
        donors = self._vector_donors(moved)
        for batch in self._batches(pending):
            # A file's stale chunks go just before its new ones are written, so a crash loses little either way.
            self._delete_stale(list({id(i): i for i, _ in batch}.values()), summary)
            self._embed_and_write([c for _, c in batch], donors, summary)
            for item, _ in batch:
                if item.updates_counted < item.replaced:
                    item.updates_counted += 1
                    summary.chunks_updated += 1
                else:
                    summary.chunks_added += 1
        return True

    def _embed_and_write(self, chunks: Sequence[PreparedChunk], donors: dict[str, str],
                         summary: IndexSummary) -> None:
        """Embed the chunks EMBED_STEP at a time and write them in one go; on Ctrl-C (or any error), the ones
        already embedded are written before it goes on."""
        embedded: list[tuple[PreparedChunk, np.ndarray, dict[str, Any]]] = []
        try:
            for start in range(0, len(chunks), EMBED_STEP):
                step = chunks[start:start + EMBED_STEP]
                vectors, metadatas = self._vectors(step, donors, summary)
                embedded.extend(zip(step, vectors, metadatas, strict=True))
        finally:
            if embedded:
                self.store.upsert([c.id for c, _, _ in embedded], np.stack([v for _, v, _ in embedded]),
                                  [c.text for c, _, _ in embedded], [m for _, _, m in embedded])

    def _delete_stale(self, items: Sequence[_FileWork], summary: IndexSummary) -> None:
        items = [item for item in items if not item.stale_deleted]
        self.store.delete([chunk_id for item in items for chunk_id in item.stale_ids])
        for item in items:
            summary.chunks_removed += len(item.stale_ids) - item.replaced
            item.stale_deleted = True

    def _vectors(self, chunks: Sequence[PreparedChunk], donors: dict[str, str],
                 summary: IndexSummary) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Each chunk's embedding and metadata with its sentence vectors: taken over from a moved file's identical
        chunk when there is one (same text, same vectors), else from the model."""
        donor_ids = [donors.get(_text_digest(c.text), "") for c in chunks]
        lent = self.store.vectors(list(dict.fromkeys(i for i in donor_ids if i)))
        own: dict[int, tuple[np.ndarray, str]] = {}
        for n, donor_id in enumerate(donor_ids):
            donor = lent.get(donor_id)
            if donor is not None and donor[1].get("sentvecs"):
                own[n] = (donor[0], str(donor[1]["sentvecs"]))
        fresh = [n for n in range(len(chunks)) if n not in own]
        if fresh:
            vectors, sentence_vectors = self.embedder.encode_chunks([chunks[n].text for n in fresh],
                                                                    [chunks[n].sentences for n in fresh])
            own.update({n: (vector, pack_vectors(sv))
                        for n, vector, sv in zip(fresh, vectors, sentence_vectors, strict=True)})
        summary.chunks_reused += len(chunks) - len(fresh)
        return (np.stack([own[n][0] for n in range(len(chunks))]),
                [c.metadata | {"sentvecs": own[n][1]} for n, c in enumerate(chunks)])

    def _batches(self, pending: Sequence[tuple[_FileWork, PreparedChunk]]) -> Iterator[list]:
        bar = None
        if self.progress:
            from tqdm import tqdm

            # disable=None: no bar when stderr is not a terminal, so logs and pipes get only the real messages.
            bar = tqdm(total=len(pending), unit="chunk", desc="Embedding", leave=False, disable=None)
        try:
            for start in range(0, len(pending), WRITE_BATCH):
                batch = list(pending[start:start + WRITE_BATCH])
                yield batch
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()

    # --- keyword index ------------------------------------------------------------------------------------

    def _bm25_fresh(self, ids: Iterable[str]) -> bool:
        return load_fresh_bm25(self.store, self.bm25_dir, ids=ids) is not None

    def sync_bm25(self) -> BM25Index:
        return rebuild_bm25(self.store, self.bm25_dir)


def load_fresh_bm25(store: ChunkStore, directory: Path, *, ids: Iterable[str] | None = None) -> BM25Index | None:
    """The saved keyword index if it matches the store's chunks exactly (`ids`, when the caller already knows
    them; else read from the store), else None."""
    saved = BM25Index.load(directory)
    if saved is None:
        return None
    current = ids if ids is not None else (c.id for c in store.iter_chunks(documents=False))
    return saved if saved.digest == ids_digest(current) else None


def rebuild_bm25(store: ChunkStore, directory: Path) -> BM25Index:
    chunks = list(store.iter_chunks(documents=True))
    index = BM25Index.build(
        [c.id for c in chunks],
        [_bm25_text(c.text, c.metadata) for c in chunks],
        [{key: c.metadata.get(key) for key in ("source", "title", "published_ts", "corpus", "article")} for c in chunks],
    )
    index.save(directory)
    return index


def _bm25_text(text: str, metadata: dict[str, Any]) -> str:
    # The title is searchable with every chunk of its article: a chunk rarely repeats the article's subject. So is
    # the byline, for "the Xinhua piece" or "the article Sun Yan edited".
    byline = " ".join(str(metadata.get(key) or "") for key in BYLINE_KEYS)
    return f"{metadata.get('title', '')}\n{byline}\n{text}"


def index_signature(embedder: Embedder, *, max_wordpieces: int, overlap_sentences: int) -> IndexSignature:
    """What an index built now would be built with. The model folder is checked first: a wrong model_path is said
    as such, not as an index built with another model (nor does `bot index` start a rebuild for it)."""
    embedder.check()
    return IndexSignature(embedding_model=embedder.name,
                          chunker=f"{CHUNKER_VERSION}/{max_wordpieces}wp/{overlap_sentences}ov")
