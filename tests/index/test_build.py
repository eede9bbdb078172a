"""The incremental indexer keeps the store in sync with the corpus, on embedded Chroma and on a `chroma run` server.

Real parts: the packaged MiniLM (shared for the session, wrapped to count the texts it encodes), real Chroma, a
private copy of seeds/ per test (000_... holds 6 articles, 003_... holds 1).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import socket
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

import index.build
from bot.chain import build_pipeline
from bot.indexing import list_articles, make_indexer, open_store
from bot.settings import Settings
from index.bm25 import BM25Index
from index.build import IndexSummary, load_fresh_bm25
from index.embedder import Embedder
from index.errors import ModelError
from index.store import REBUILD_COMPLETE, ChunkStore, IndexMismatchError, IndexMissingError
from tests.index.conftest import CountingEmbedder

pytestmark = pytest.mark.integration

MULTI = "000_f5096a39126c624c.txt"  # six articles
SINGLE = "003_ea7677fb405ea616.txt"  # one article, 19 chunks
QUESTION = "When did the Sutong Bridge open to traffic?"
# The `counting` fixture: makes a CountingEmbedder over the session's model.
Counting = Callable[..., CountingEmbedder]
CONTRACT_KEYS = {"source", "corpus", "title", "published", "published_ts", "published_time", "parser", "article",
                 "article_id", "chunk", "start", "end", "n_tokens", "n_wordpieces", "page", "tags", "file_sha",
                 "file_chunks", "sentences"}


def _index(settings: Settings, embedder: Embedder, corpus: Path, **options: object) -> IndexSummary:
    warnings: list[str] = []
    summary = make_indexer(settings, embedder=embedder, progress=False).run([corpus], on_warning=warnings.append,
                                                                             **options)
    assert warnings == summary.warnings
    return summary


def _by_file(store: ChunkStore) -> dict[str, dict[str, str]]:
    """source -> {chunk id: text}."""
    files: dict[str, dict[str, str]] = defaultdict(dict)
    for chunk in store.iter_chunks():
        files[chunk.metadata["source"]][chunk.id] = chunk.text
    return dict(files)


def _assert_in_sync(settings: Settings, corpus: Path) -> list[str]:
    """No duplicates; every file's chunks carry the file's current hash and a file_chunks equal to their number;
    the BM25 sidecar holds exactly the store's ids. Returns the store's ids."""
    store = open_store(settings)
    chunks = list(store.iter_chunks(documents=False))
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)) == store.count()
    per_file: dict[str, list[dict]] = defaultdict(list)
    for chunk in chunks:
        per_file[chunk.metadata["source"]].append(chunk.metadata)
    for source, metas in per_file.items():
        sha = hashlib.sha256((corpus / source).read_bytes()).hexdigest()
        assert {m["file_sha"] for m in metas} == {sha}, source
        assert {m["file_chunks"] for m in metas} == {len(metas)}, source
        positions = [(m["article"], m["chunk"]) for m in metas]
        assert len(positions) == len(set(positions)), f"{source}: two chunks at one position"
    assert sum(metas[0]["file_chunks"] for metas in per_file.values()) == len(ids)
    bm25 = load_fresh_bm25(store, settings.bm25_dir)
    assert bm25 is not None, "the BM25 sidecar does not match the store"
    assert sorted(bm25.ids) == sorted(ids)
    return ids


def test_seeds_index_to_seven_articles_and_a_second_run_embeds_nothing(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    first = counting()
    summary = _index(settings, first, corpus)
    assert (summary.files, summary.articles, summary.files_skipped, summary.warnings) == (2, 7, 0, [])
    assert summary.chunks_added == summary.chunks_total == len(first.encoded) > 0
    ids = _assert_in_sync(settings, corpus)

    articles = list_articles(settings)
    assert len(articles) == 7
    assert sorted(Counter(a["source"] for a in articles).items()) == [(MULTI, 6), (SINGLE, 1)]
    assert sum(a["chunks"] for a in articles) == len(ids)
    assert {a["published"] for a in articles if a["source"] == SINGLE} == {"2024-01-30"}
    assert articles[0]["published"] == "2024-05-14"
    for chunk in open_store(settings).iter_chunks(documents=False):
        assert CONTRACT_KEYS <= set(chunk.metadata), CONTRACT_KEYS - set(chunk.metadata)
        assert all(value is not None for value in chunk.metadata.values())

    second = counting()
    again = _index(settings, second, corpus)
    assert second.encoded == [] and second.calls == 0
    assert (again.chunks_embedded, again.chunks_removed, again.files_unchanged, again.articles) == (0, 0, 2, 7)
    assert sorted(_assert_in_sync(settings, corpus)) == sorted(ids)


def test_editing_one_article_reembeds_only_its_changed_chunk(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    _index(settings, counting(), corpus)
    before = _by_file(open_store(settings))
    path = corpus / MULTI
    text = path.read_text(encoding="utf-8")
    assert text.count("Equipment Exhibition, opened,") == 1
    path.write_text(text.replace("Equipment Exhibition, opened,", "Equipment Exhibition, began,"),
                    encoding="utf-8")

    edited = counting()
    summary = _index(settings, edited, corpus)
    after = _by_file(open_store(settings))
    # The one-chunk Kunshan article changed (same length, so it stays one chunk); the other five articles of the
    # file and the other file did not.
    assert len(edited.encoded) == 1 and "Exhibition, began," in edited.encoded[0]
    # One chunk took another's place: updated, neither added nor removed (added minus removed is what the index
    # gained).
    assert (summary.chunks_added, summary.chunks_updated, summary.chunks_removed) == (0, 1, 0)
    assert after[SINGLE] == before[SINGLE]
    assert set(after[MULTI]) - set(before[MULTI]) == {next(i for i, t in after[MULTI].items() if "began," in t)}
    assert len(set(before[MULTI]) - set(after[MULTI])) == 1
    _assert_in_sync(settings, corpus)
    # Kept chunks had only their metadata moved: their stored sentence vectors survived the update.
    kept = open_store(settings).get(sorted(set(after[MULTI]) & set(before[MULTI])))
    assert kept and all(c.metadata.get("sentvecs") for c in kept)


def test_an_edit_then_a_revert_leaves_no_duplicates(settings: Settings, corpus: Path, counting: Counting) -> None:
    _index(settings, counting(), corpus)
    original_ids = sorted(_assert_in_sync(settings, corpus))
    path = corpus / MULTI
    original = path.read_bytes()
    path.write_text(original.decode("utf-8").replace("the Sutong Bridge, the first", "the Sutong Yangtze River "
                                                     "Bridge, the first"), encoding="utf-8")
    edited = counting()
    _index(settings, edited, corpus)
    assert 1 <= len(edited.encoded) <= 3 and any("Sutong Yangtze River Bridge" in t for t in edited.encoded)
    assert sorted(_assert_in_sync(settings, corpus)) != original_ids

    path.write_bytes(original)
    reverted = counting()
    summary = _index(settings, reverted, corpus)
    assert len(reverted.encoded) == len(edited.encoded)  # exactly the chunks the edit had replaced
    assert summary.chunks_total == len(original_ids)
    assert sorted(_assert_in_sync(settings, corpus)) == original_ids


def test_deleting_a_file_removes_its_chunks(settings: Settings, corpus: Path, counting: Counting) -> None:
    _index(settings, counting(), corpus)
    single_ids = set(_by_file(open_store(settings))[SINGLE])
    (corpus / SINGLE).unlink()

    again = counting()
    summary = _index(settings, again, corpus)
    assert again.encoded == []
    assert (summary.files, summary.files_removed, summary.chunks_removed) == (1, 1, len(single_ids))
    ids = _assert_in_sync(settings, corpus)
    assert not single_ids & set(ids)
    assert {a["source"] for a in list_articles(settings)} == {MULTI}


def _texts(settings: Settings) -> list[str]:
    return [c.text for c in open_store(settings).iter_chunks()]


def test_a_file_reached_through_its_folder_and_directly_is_stored_once(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    # On its own first, then with its folder: the folder adds only the other file.
    alone = _index(settings, counting(), corpus / SINGLE)
    with_folder = counting()
    summary = _index(settings, with_folder, corpus)
    assert (summary.files, summary.files_unchanged, summary.chunks_removed) == (2, 1, 0)
    assert summary.chunks_total == alone.chunks_total + summary.chunks_added
    assert not any("Jingjiang" in text for text in with_folder.encoded)
    texts = _texts(settings)
    assert len(texts) == len(set(texts)) == summary.chunks_total
    # Through the folder first, then directly: nothing to do.
    direct = counting()
    again = _index(settings, direct, corpus / MULTI)
    assert direct.calls == 0 and (again.files_unchanged, again.chunks_total) == (1, summary.chunks_total)
    # Deleted from the folder, the file indexed on its own goes when the folder is indexed again.
    (corpus / SINGLE).unlink()
    gone = _index(settings, counting(), corpus)
    assert (gone.files_removed, gone.chunks_removed, gone.chunks_total) == (1, alone.chunks_total,
                                                                           summary.chunks_total - alone.chunks_total)
    assert {a["source"] for a in list_articles(settings)} == {MULTI}


def test_a_file_stored_twice_by_an_older_version_is_stored_once_again(
    settings: Settings, corpus: Path, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as older:  # before files had one identity however they were reached
        older.setattr(index.build, "_as_indexed", lambda file, key: file)
        # (A file given directly never removed anything.)
        older.setattr(index.build.Indexer, "_remove_deleted_files", lambda self, *args, **options: None)
        once = _index(settings, counting(), corpus)
        twice = _index(settings, counting(), corpus / SINGLE)
    assert twice.chunks_added > 0 and twice.chunks_total > once.chunks_total
    healed = counting()
    summary = _index(settings, healed, corpus / SINGLE)
    assert healed.calls == 0 and summary.chunks_total == once.chunks_total
    texts = _texts(settings)
    assert len(texts) == len(set(texts))


def test_a_moved_folder_replaces_its_old_chunks_and_a_merely_missing_one_is_kept(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path
) -> None:
    first = _index(settings, counting(), corpus)
    moved = tmp_path / "elsewhere" / "news"
    moved.parent.mkdir()
    corpus.rename(moved)
    # Indexing something else leaves the missing folder's articles answering (an unplugged drive comes back).
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n",
                                    encoding="utf-8")
    unrelated = _index(settings, counting(), other)
    assert unrelated.chunks_removed == 0 and unrelated.chunks_total == first.chunks_total + 1
    # The same bytes indexed at their new place: the old chunks go, nothing is stored twice, and their vectors
    # move with them rather than being computed again.
    again = counting()
    summary = _index(settings, again, moved)
    assert (summary.files_removed, summary.chunks_removed) == (2, first.chunks_total)
    assert summary.chunks_total == first.chunks_total + 1
    assert again.encoded == [] and summary.chunks_reused == summary.chunks_added == first.chunks_total
    assert summary.chunks_embedded == 0 and "moved without embedding again" in summary.line()
    assert all(c.metadata.get("sentvecs") for c in open_store(settings).iter_chunks(documents=False))
    texts = _texts(settings)
    assert len(texts) == len(set(texts))
    assert {c.metadata["corpus"] for c in open_store(settings).iter_chunks(documents=False)} == {
        str(moved.resolve()), str(other.resolve())}
    answer = build_pipeline(settings, embedder=counting()).ask(QUESTION)
    assert "June 30, 2008" in answer.answer


def test_bad_files_are_reported_and_skipped_while_the_rest_is_indexed(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    (corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (corpus / "blank.txt").write_text("  \n\n ", encoding="utf-8")
    latin = "Caf\u00e9 opens in Nantong\n\nThe caf\u00e9 on the river front opened on Monday, its owner said.\n"
    (corpus / "latin.txt").write_bytes(latin.encode("cp1252"))

    summary = _index(settings, counting(), corpus)
    assert summary.files_skipped == 2 and summary.files == 3
    assert [w for w in summary.warnings if "photo.txt" in w] and [w for w in summary.warnings if "blank.txt" in w]
    assert [w for w in summary.warnings if "latin.txt" in w and "UTF-8" in w]
    assert all("\n" not in w for w in summary.warnings)
    articles = list_articles(settings)
    assert len(articles) == 8
    assert [a["title"] for a in articles if a["source"] == "latin.txt"] == ["Caf\u00e9 opens in Nantong"]
    assert not {"photo.txt", "blank.txt"} & {a["source"] for a in articles}
    stored = [c.text for c in open_store(settings).iter_chunks(where={"source": "latin.txt"})]
    assert stored and "caf\u00e9" in stored[0]  # decoded as Windows-1252, not mojibake
    _assert_in_sync(settings, corpus)


def test_a_file_that_turns_bad_loses_its_old_chunks(settings: Settings, corpus: Path, counting: Counting) -> None:
    _index(settings, counting(), corpus)
    single_ids = set(_by_file(open_store(settings))[SINGLE])
    (corpus / SINGLE).write_bytes(b"\x00\x01binary now")

    summary = _index(settings, counting(), corpus)
    assert summary.files_skipped == 1 and [w for w in summary.warnings if SINGLE in w]
    assert summary.chunks_removed == len(single_ids)
    assert {a["source"] for a in list_articles(settings)} == {MULTI}
    _assert_in_sync(settings, corpus)


def test_an_interrupted_first_run_is_completed_by_the_next(
    settings: Settings, corpus: Path, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    interrupted = counting(interrupt_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        _index(settings, interrupted, corpus)
    store = open_store(settings)
    assert len(interrupted.encoded) == 8 and store.count() == 8
    assert load_fresh_bm25(store, settings.bm25_dir) is None  # the run never got to the sidecar

    finishing = counting()
    summary = _index(settings, finishing, corpus)
    assert not set(finishing.encoded) & set(interrupted.encoded)  # nothing embedded twice
    assert summary.chunks_total == 8 + len(finishing.encoded) == summary.chunks_embedded + 8
    _assert_in_sync(settings, corpus)
    assert len(list_articles(settings)) == 7


def test_an_interrupted_update_is_completed_by_the_next_run(
    settings: Settings, corpus: Path, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index(settings, counting(), corpus)
    path = corpus / SINGLE
    path.write_text(path.read_text(encoding="utf-8").replace(" the ", " THE "), encoding="utf-8")
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    interrupted = counting(interrupt_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        _index(settings, interrupted, corpus)
    store = open_store(settings)
    # The old chunks of the file are gone, 8 new ones are in: the saved sidecar no longer matches the store.
    assert load_fresh_bm25(store, settings.bm25_dir) is None
    assert len(interrupted.encoded) == 8

    finishing = counting()
    summary = _index(settings, finishing, corpus)
    assert not set(finishing.encoded) & set(interrupted.encoded)
    assert finishing.encoded and all(" THE " in t for t in finishing.encoded)
    assert summary.files_unchanged == 1  # the untouched file was not even parsed
    _assert_in_sync(settings, corpus)
    assert sum(" THE " in t for t in _by_file(store)[SINGLE].values()) == 8 + len(finishing.encoded)


def test_querying_an_index_built_with_another_model_says_to_reindex(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder
) -> None:
    _index(settings, counting(name="other-model"), corpus)
    with pytest.raises(IndexMismatchError) as caught:
        build_pipeline(settings, embedder=embedder).ask(QUESTION)
    message = str(caught.value)
    assert "other-model" in message and "all-MiniLM-L6-v2" in message and "Re-index" in message
    assert "\n" not in message

    summary = _index(settings, counting(), corpus)
    assert summary.rebuilt and summary.chunks_added == summary.chunks_total
    assert any("rebuilding" in w for w in summary.warnings)
    answer = build_pipeline(settings, embedder=embedder).ask(QUESTION)
    assert "June 30, 2008" in answer.citations[0].quote


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_a_wrong_model_folder_is_said_as_such_and_stops_the_run(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path
) -> None:
    """A model_path that does not exist read as "the index was built with the embedding model ... but nowhere is
    configured"; a folder with a broken model was reported once for every file (each loading it again), after a
    rebuild had started, and the rebuild's empty collection was then reported as a partial rebuild."""
    _index(settings, counting(), corpus)
    missing = settings.replace(model_path=str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match=r"^Embedding model folder \S*nowhere does not exist\. Set model_path"):
        build_pipeline(missing).ask(QUESTION)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}", encoding="utf-8")
    warnings: list[str] = []
    with pytest.raises(ModelError, match=r"^The embedding model in \S*broken cannot be loaded \(") as caught:
        make_indexer(settings.replace(model_path=str(broken)), progress=False).run([corpus],
                                                                                   on_warning=warnings.append)
    assert "\n" not in str(caught.value) and warnings == [index.build.REBUILDING]
    assert _index(settings, counting(), corpus).warnings == []


def test_a_missing_or_stale_keyword_sidecar_is_rebuilt(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder
) -> None:
    _index(settings, counting(), corpus)
    ids = _assert_in_sync(settings, corpus)
    store = open_store(settings)

    # Gone: the next `bot index` rebuilds it without embedding anything.
    shutil.rmtree(settings.bm25_dir)
    again = counting()
    _index(settings, again, corpus)
    assert again.encoded == []
    _assert_in_sync(settings, corpus)

    # Stale (built from other ids): the indexer rebuilds it ...
    BM25Index.build(ids[:3], ["a", "b", "c"]).save(settings.bm25_dir)
    assert load_fresh_bm25(store, settings.bm25_dir) is None
    _index(settings, counting(), corpus)
    _assert_in_sync(settings, corpus)

    # ... and so does the retriever when it meets a stale one at query time.
    BM25Index.build(ids[:3], ["a", "b", "c"]).save(settings.bm25_dir)
    pipeline = build_pipeline(settings, embedder=embedder)
    assert sorted(pipeline.retriever.bm25.ids) == sorted(ids)
    assert load_fresh_bm25(store, settings.bm25_dir) is not None
    assert "June 30, 2008" in pipeline.ask(QUESTION).citations[0].quote


def test_a_date_or_headline_edit_moves_metadata_everywhere_without_embedding(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder
) -> None:
    """Chunk texts (and so ids) stay the same, but the store's metadata and the keyword sidecar's copy of it
    (used by date and source filters) must both follow the file."""
    _index(settings, counting(), corpus)
    path = corpus / SINGLE
    text = path.read_text(encoding="utf-8")
    assert text.count("Updated on 2024-01-30") == 1
    path.write_text(text.replace("Updated on 2024-01-30", "Updated on 2024-02-01")
                    .replace("Promote the two strategies as a whole", "Promote both strategies as a whole"),
                    encoding="utf-8")

    again = counting()
    summary = _index(settings, again, corpus)
    assert again.encoded == [] and summary.chunks_embedded == 0
    _assert_in_sync(settings, corpus)
    [article] = [a for a in list_articles(settings) if a["source"] == SINGLE]
    assert article["published"] == "2024-02-01" and article["title"].startswith("Promote both strategies")
    bm25 = load_fresh_bm25(open_store(settings), settings.bm25_dir)
    moved = [m for m in bm25.meta if m["source"] == SINGLE]
    assert moved and {m["published_ts"] for m in moved} == {20240201}
    assert {m["title"] for m in moved} == {article["title"]}
    answer = build_pipeline(settings, embedder=embedder).ask(
        "What do the two strategies serve?", filters={"published_from": "2024-02-01", "published_to": "2024-02-01"})
    assert answer.passages and {p.metadata["source"] for p in answer.passages} == {SINGLE}


def test_a_file_read_by_an_older_parser_gets_the_new_metadata_without_embedding_again(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    """Reading a dateline's time (parser 2) reaches an index built before it on the next `bot index`: the chunks keep
    their ids and vectors and only their metadata is written."""
    _index(settings, counting(), corpus)
    store = open_store(settings)
    ids = [c.id for c in store.iter_chunks(documents=False)]
    store.update_metadata(ids, [{"parser": 1, "published_time": ""} for _ in ids])  # as an older version left it

    again = counting()
    summary = _index(settings, again, corpus)
    assert again.encoded == [] and (summary.chunks_added, summary.chunks_updated, summary.chunks_removed) == (0, 0, 0)
    # The summary says what happened: every chunk re-read, none embedded.
    assert summary.chunks_refreshed == len(ids) and f"{len(ids)} re-read" in summary.line()
    chunks = list(open_store(settings).iter_chunks(documents=False))
    assert sorted(c.id for c in chunks) == sorted(ids)
    assert {c.metadata["parser"] for c in chunks} == {index.build.ARTICLE_PARSER_VERSION}
    assert {c.metadata["published_time"] for c in chunks if c.metadata["source"] == MULTI
            and c.metadata["article"] == 0} == {"06:53 AM"}
    assert all(c.metadata.get("sentvecs") for c in open_store(settings).get(ids[:3]))
    _assert_in_sync(settings, corpus)
    # Unchanged since: nothing to read again.
    assert _index(settings, counting(), corpus).files_unchanged == 2
    # Reading the files again chunks them with the model folder's tokenizer alone: the model is never loaded.
    store.update_metadata(ids, [{"parser": 1} for _ in ids])
    fresh = Embedder()
    assert _index(settings, fresh, corpus).chunks_embedded == 0 and fresh._model is None  # noqa: SLF001


def test_the_keyword_index_finds_an_article_by_its_byline(settings: Settings, corpus: Path, counting: Counting) -> None:
    _index(settings, counting(), corpus)
    store = open_store(settings)
    keyword = load_fresh_bm25(store, settings.bm25_dir)
    assert keyword is not None
    hits = keyword.search("Xinhua", n=3)
    assert hits and {c.metadata["source"] for c in store.get([i for i, _ in hits])} == {SINGLE}


def test_a_move_interrupted_while_writing_is_completed_by_the_next_run(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _index(settings, counting(), corpus)
    moved = tmp_path / "moved"
    corpus.rename(moved)
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    real_upsert, calls = ChunkStore.upsert, []

    def crash_on_second_batch(self: ChunkStore, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_upsert(self, *args, **kwargs)

    monkeypatch.setattr(ChunkStore, "upsert", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        _index(settings, counting(), moved)
    # Both copies meanwhile: the old folder's chunks still answer.
    assert open_store(settings).count() == first.chunks_total + 8
    monkeypatch.setattr(ChunkStore, "upsert", real_upsert)

    again = counting()
    summary = _index(settings, again, moved)
    assert again.encoded == [] and summary.chunks_removed == first.chunks_total
    assert summary.chunks_total == first.chunks_total
    assert {c.metadata["corpus"] for c in open_store(settings).iter_chunks(documents=False)} == {str(moved.resolve())}
    _assert_in_sync(settings, moved)


def test_removed_files_go_in_one_store_call(
    settings: Settings, corpus: Path, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each Chroma delete costs tens of milliseconds whatever its size: a folder of deleted files is one call, not
    one per file (300 files took 26 s one by one)."""
    first = _index(settings, counting(), corpus)
    (corpus / MULTI).unlink()
    (corpus / SINGLE).unlink()
    (corpus / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n", encoding="utf-8")
    real_delete, calls = ChunkStore.delete, []

    def counted(self: ChunkStore, ids: list[str]) -> None:
        if ids:
            calls.append(len(ids))
        real_delete(self, ids)

    monkeypatch.setattr(ChunkStore, "delete", counted)
    summary = _index(settings, counting(), corpus)
    assert (summary.files_removed, summary.chunks_removed, summary.chunks_total) == (2, first.chunks_total, 1)
    assert calls == [first.chunks_total]


def test_remove_takes_out_one_file_or_a_whole_folder(settings: Settings, corpus: Path, counting: Counting) -> None:
    first = _index(settings, counting(), corpus)
    indexer = make_indexer(settings, embedder=counting(), progress=False)
    single = len(_by_file(open_store(settings))[SINGLE])
    one = indexer.remove([corpus / SINGLE])
    assert (one.files_removed, one.chunks_removed, one.chunks_total) == (1, single, first.chunks_total - single)
    assert set(_by_file(open_store(settings))) == {MULTI}
    _assert_in_sync(settings, corpus)
    assert indexer.remove([corpus / "elsewhere"]).files_removed == 0
    everything = indexer.remove([corpus])
    assert (everything.files_removed, everything.chunks_total) == (1, 0)
    assert load_fresh_bm25(open_store(settings), settings.bm25_dir) is not None


def test_a_folder_renamed_inside_the_indexed_folder_keeps_its_vectors(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    """Renaming a subfolder of the corpus: its files are both deleted (under the folder indexed) and moved; their
    old chunks still lend their vectors, and go only after the new ones are written."""
    sub = corpus / "jiangsu"
    sub.mkdir()
    (corpus / SINGLE).rename(sub / SINGLE)
    first = _index(settings, counting(), corpus)
    sub.rename(corpus / "jiangsu-2024")
    again = counting()
    summary = _index(settings, again, corpus)
    assert again.encoded == [] and summary.chunks_reused == summary.chunks_added > 0
    assert (summary.files_removed, summary.chunks_total) == (1, first.chunks_total)
    assert {c.metadata["source"] for c in open_store(settings).iter_chunks(documents=False)} == {
        MULTI, f"jiangsu-2024/{SINGLE}"}


def test_a_byline_deleted_from_the_file_leaves_the_index(settings: Settings, corpus: Path, counting: Counting) -> None:
    _index(settings, counting(), corpus)
    path = corpus / SINGLE
    path.write_text(path.read_text(encoding="utf-8").replace("Editor: Sun Yan.", ""), encoding="utf-8")
    again = counting()
    _index(settings, again, corpus)
    assert again.encoded == []  # the chunk texts did not change
    chunks = [c for c in open_store(settings).iter_chunks(documents=False) if c.metadata["source"] == SINGLE]
    assert chunks and all("editor" not in c.metadata and c.metadata["reviewer"] == "Zhang Xiang" for c in chunks)
    store = open_store(settings)
    keyword = load_fresh_bm25(store, settings.bm25_dir)
    assert keyword is not None
    hits = store.get([i for i, _ in keyword.search("Sun Yan", n=5)])
    assert SINGLE not in {c.metadata["source"] for c in hits}  # (the other file has a "Huang Yan")


def _collections(settings: Settings) -> set[str]:
    """This test's collections (on the session's server, other tests' are there too)."""
    client = open_store(settings)._client
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    return {name for name in names if name.startswith(settings.collection)}


def test_an_interrupted_rebuild_leaves_the_old_index_answering_and_the_next_finishes_it(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n", encoding="utf-8")
    first = _index(settings, counting(), corpus)
    _index(settings, counting(), other)
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    interrupted = counting(interrupt_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        _index(settings, interrupted, corpus, rebuild=True)
    # Nothing of the index in use was touched: it answers, with a keyword index that still matches it.
    store = open_store(settings)
    assert store.count() == first.chunks_total + 1 and len(interrupted.encoded) == 8
    assert load_fresh_bm25(store, settings.bm25_dir) is not None
    serving = build_pipeline(settings, embedder=embedder)  # like `bot serve`, it holds the collection in use
    assert "June 30, 2008" in serving.ask(QUESTION).answer

    # The next rebuild takes up where this one stopped; a real Ctrl-C while it swaps the new index in waits until
    # the swap is done.
    real_replace = ChunkStore.replace_with

    def interrupt_mid_swap(self: ChunkStore, other_store: ChunkStore) -> None:
        signal.raise_signal(signal.SIGINT)
        real_replace(self, other_store)

    monkeypatch.setattr(ChunkStore, "replace_with", interrupt_mid_swap)
    finishing = counting()
    with pytest.raises(KeyboardInterrupt):
        _index(settings, finishing, corpus, rebuild=True)
    assert not set(finishing.encoded) & set(interrupted.encoded)
    assert len(finishing.encoded) + 8 == first.chunks_total
    # The rebuilt index holds the given folder alone, in sync with its keyword index; nothing is left beside it.
    _assert_in_sync(settings, corpus)
    assert {c.metadata["corpus"] for c in open_store(settings).iter_chunks(documents=False)} == {str(corpus.resolve())}
    assert not {name for name in _collections(settings) if name.endswith(index.build.REBUILD_SUFFIX)}
    assert not settings.bm25_dir.with_name(settings.bm25_dir.name + index.build.REBUILD_SUFFIX).exists()
    assert "June 30, 2008" in build_pipeline(settings, embedder=embedder).ask(QUESTION).answer
    assert "June 30, 2008" in serving.ask(QUESTION).answer  # it finds the new collection under the old name


def test_a_plain_run_says_a_rebuild_was_left_and_keeps_it_for_the_next_rebuild(
    settings: Settings, corpus: Path, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an interrupted --rebuild, a plain `bot index` updates the index in use and says, once, what is beside
    it; the partial rebuild stays (dropping it would lose what it embedded), and the next --rebuild finishes it."""
    first = _index(settings, counting(), corpus)
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    interrupted = counting(interrupt_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        _index(settings, interrupted, corpus, rebuild=True)
    side = open_store(settings).beside(index.build.REBUILD_SUFFIX)
    assert side.count() == len(interrupted.encoded) == 8

    (corpus / "new.txt").write_text("Harbour news\n\nThe new ferry to Chongming starts in May.\n", encoding="utf-8")
    plain = counting()
    summary = _index(settings, plain, corpus)
    assert summary.warnings == [index.build.REBUILD_LEFT]
    assert summary.warnings[0].startswith("An interrupted `bot index --rebuild` (or one still running) left a partial")
    assert "Run `bot index --rebuild` to finish it" in summary.warnings[0]
    assert summary.chunks_added == len(plain.encoded) > 0 and summary.chunks_total > first.chunks_total
    assert side.count() == 8 and side.name in _collections(settings)

    finishing = counting()
    rebuilt = _index(settings, finishing, corpus, rebuild=True)
    assert rebuilt.warnings == [] and not set(finishing.encoded) & set(interrupted.encoded)
    assert not {name for name in _collections(settings) if name.endswith(index.build.REBUILD_SUFFIX)}
    assert _index(settings, counting(), corpus).warnings == []
    _assert_in_sync(settings, corpus)


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_a_rebuild_that_reads_nothing_leaves_nothing_beside_the_index(
    settings: Settings, corpus: Path, counting: Counting, lock: Callable[[Path], None]
) -> None:
    first = _index(settings, counting(), corpus)
    for path in corpus.iterdir():
        lock(path)
    summary = _index(settings, counting(), corpus, rebuild=True)
    assert summary.warnings[-1] == ("Nothing could be indexed from the given folders; the index in use is left as it "
                                    "was.")
    assert summary.chunks_total == first.chunks_total
    assert not {name for name in _collections(settings) if name.endswith(index.build.REBUILD_SUFFIX)}
    assert not settings.bm25_dir.with_name(settings.bm25_dir.name + index.build.REBUILD_SUFFIX).exists()
    assert index.build.REBUILD_LEFT not in _index(settings, counting(), corpus).warnings


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_an_interrupted_first_run_answers_from_what_it_embedded(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the middle of one write batch (the seeds are one): what the model had embedded is written."""
    monkeypatch.setattr(index.build, "EMBED_STEP", 8)
    interrupted = counting(interrupt_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        _index(settings, interrupted, corpus)
    assert len(interrupted.encoded) == 16 and open_store(settings).count() == 16
    answer = build_pipeline(settings, embedder=embedder).ask(QUESTION)  # no "No index"
    assert "June 30, 2008" in answer.answer

    finishing = counting()
    summary = _index(settings, finishing, corpus)
    assert not set(finishing.encoded) & set(interrupted.encoded)
    # The chunks the interrupted run did not write are new: "added", not "updated" (it said "0 chunks added, 5502
    # updated"), so added minus removed is what the index gained.
    assert (summary.chunks_added, summary.chunks_updated, summary.chunks_removed) == (len(finishing.encoded), 0, 0)
    assert summary.chunks_total == 16 + summary.chunks_added
    _assert_in_sync(settings, corpus)


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_a_rebuild_of_some_folders_names_the_folders_it_dropped(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path
) -> None:
    """`bot index --rebuild articles`, after articles, sports and seeds had been indexed, printed only its summary:
    the other folders' articles were gone without a word."""
    other = tmp_path / "sports"
    other.mkdir()
    (other / "derby.txt").write_text("The derby ended 2-1, the club said.\n", encoding="utf-8")
    _index(settings, counting(), corpus)
    _index(settings, counting(), other)
    summary = _index(settings, counting(), corpus, rebuild=True)
    assert summary.warnings == [index.build.dropped_folders([str(other.resolve())])]
    assert summary.warnings[0] == (f"The rebuilt index leaves out the articles indexed from {other.resolve()}: the "
                                   "given folders do not include them. Index them again to bring them back (`bot "
                                   "index --rebuild` with every folder keeps them).")
    assert _index(settings, counting(), corpus, rebuild=True).warnings == []  # nothing more was dropped


# The tests below are about the corpus folder, not the store: one backend is enough.
@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_a_folder_that_cannot_be_listed_is_reported_skipped_and_keeps_its_files(
    settings: Settings, corpus: Path, counting: Counting, lock: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture
) -> None:
    sub = corpus / "jiangsu"
    sub.mkdir()
    (corpus / SINGLE).rename(sub / SINGLE)
    _index(settings, counting(), corpus)
    before = _by_file(open_store(settings))
    lock(sub)
    (corpus / "new.txt").write_text("Qinhuai lanterns\n\nThe Qinhuai lantern fair opened on Friday, the city said.\n",
                                    encoding="utf-8")

    with caplog.at_level(logging.WARNING):
        summary = _index(settings, counting(), corpus)
    [warning] = summary.warnings
    assert warning.startswith(f"{sub.resolve()} cannot be listed (Permission denied); skipped.")
    assert warning.endswith(index.build.KEPT) and "\n" not in warning
    # Reported once, as the summary's warning, not as a log line too.
    assert not [r for r in caplog.records if r.name.startswith("index")]
    assert (summary.files, summary.files_skipped, summary.chunks_removed, summary.chunks_added) == (2, 1, 0, 1)
    # It is a folder, not a file that was found and could not be read.
    assert summary.folders_skipped == 1 and " 0 files skipped, 1 folder unreadable (" in summary.line()
    after = _by_file(open_store(settings))
    assert after[f"jiangsu/{SINGLE}"] == before[f"jiangsu/{SINGLE}"] and "new.txt" in after

    sub.chmod(0o755)
    again = counting()
    assert _index(settings, again, corpus).files_unchanged == 3 and again.calls == 0
    _assert_in_sync(settings, corpus)


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_a_file_that_cannot_be_read_for_now_keeps_its_chunks(
    settings: Settings, corpus: Path, counting: Counting, lock: Callable[[Path], None]
) -> None:
    _index(settings, counting(), corpus)
    before = _by_file(open_store(settings))
    path = corpus / SINGLE
    lock(path)

    summary = _index(settings, counting(), corpus)
    [warning] = summary.warnings
    assert warning == (f"{path.resolve()} cannot be read (permission denied); skipped. Make it readable: "
                       f"`chmod a+r {path.resolve()}`.{index.build.KEPT}")
    assert (summary.files_skipped, summary.chunks_removed, summary.files_unchanged) == (1, 0, 1)
    assert _by_file(open_store(settings)) == before
    assert load_fresh_bm25(open_store(settings), settings.bm25_dir) is not None

    path.chmod(0o644)
    again = counting()
    assert _index(settings, again, corpus).files_unchanged == 2 and again.calls == 0
    _assert_in_sync(settings, corpus)


@pytest.mark.timeout(120)  # opening the pipe would wait forever
@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
def test_pipes_sockets_and_broken_links_are_skipped_unopened(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    _index(settings, counting(), corpus)
    before = _by_file(open_store(settings))
    root = corpus.resolve()
    os.mkfifo(root / "pipe.txt")
    # An indexed file turned into a pipe keeps its chunks, like any file that cannot be read for now.
    (root / SINGLE).unlink()
    os.mkfifo(root / SINGLE)
    server = socket.socket(socket.AF_UNIX)
    socket_path = root / "s.md"
    if len(str(socket_path)) < 100:  # the limit of a socket's path
        server.bind(str(socket_path))
    (root / "gone.html").symlink_to(root / "nowhere.html")

    summary = _index(settings, counting(), corpus)
    server.close()
    assert set(summary.warnings) >= {
        f"{root / 'pipe.txt'} is a named pipe, not a regular file; skipped without opening it.",
        f"{root / SINGLE} is a named pipe, not a regular file; skipped without opening it.{index.build.KEPT}",
        f"{root / 'gone.html'} is a broken link to {root / 'nowhere.html'}: its target does not exist; skipped. "
        "Fix or remove the link.",
    }
    sockets = int(socket_path.exists())
    assert len(summary.warnings) == summary.files_skipped == 3 + sockets
    assert not sockets or f"{socket_path} is a socket, not a regular file" in " ".join(summary.warnings)
    assert (summary.files, summary.files_unchanged, summary.chunks_removed) == (1, 1, 0)
    assert _by_file(open_store(settings)) == before


MARKDOWN_ARTICLE = """# Harbour bridge opens

The new harbour bridge opened to traffic on Monday after six years of work, the
city transport office said in its [annual report](https://example.org/reports/2024/transport/annual-report-final.pdf)
on the project, which cost 4.2 billion yuan and carries 90,000 vehicles a day
across the estuary between the two districts of the city, officials said.
The mayor said the bridge cuts the trip to the airport by forty minutes.[^survey]

[^survey]: The airport figure comes from the city's 2023 survey of commuters.
"""


def test_markdown_keeps_footnotes_and_whole_hard_wrapped_sentences(
    settings: Settings, tmp_path: Path, counting: Counting, embedder: Embedder
) -> None:
    """A footnote's text was dropped with its label; a line a long link target had made wide ended a sentence once
    the target was gone ("... said in its annual report" / "on the project, ...")."""
    corpus = tmp_path / "md"
    corpus.mkdir()
    (corpus / "bridge.md").write_text(MARKDOWN_ARTICLE, encoding="utf-8")
    _index(settings, counting(), corpus)
    [chunk] = list(open_store(settings).iter_chunks())
    sentences = [" ".join(chunk.text[start:end].split()) for start, end in json.loads(chunk.metadata["sentences"])]
    assert sentences == [
        "The new harbour bridge opened to traffic on Monday after six years of work, the city transport office said "
        "in its annual report on the project, which cost 4.2 billion yuan and carries 90,000 vehicles a day across "
        "the estuary between the two districts of the city, officials said.",
        "The mayor said the bridge cuts the trip to the airport by forty minutes.",
        "The airport figure comes from the city's 2023 survey of commuters.",
    ]
    answer = build_pipeline(settings, embedder=embedder).ask("Which survey gave the airport figure?")
    assert "2023 survey of commuters" in answer.answer


def test_a_file_reached_through_links_is_stored_once_and_linked_folders_are_read(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path
) -> None:
    """A link beside a file (or an older index that stored the file through it) stored its articles twice, and a
    linked folder was passed over without a word."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "museum.txt").write_text("Museum reopens\n\nThe city museum reopened on April 1, 2024.\n",
                                          encoding="utf-8")
    (corpus / "a-link.txt").symlink_to(corpus / SINGLE)
    (corpus / "linked").symlink_to(elsewhere)
    (corpus / "loop").symlink_to(corpus)  # a folder around it: never followed, and said so
    summary = _index(settings, counting(), corpus)
    root = corpus.resolve()
    assert summary.warnings == [f"{root / 'loop'} is a link to {root}, a folder around it; skipped, as following it "
                                f"would loop or read beyond {root}."]
    assert summary.files == 3
    sources = [a["source"] for a in list_articles(settings)]
    assert sorted(set(sources)) == [MULTI, SINGLE, "linked/museum.txt"] and sources.count(SINGLE) == 1
    # Given directly, through the link, the file is the one already indexed.
    again = _index(settings, counting(), corpus / "a-link.txt")
    assert (again.files_unchanged, again.chunks_added, again.chunks_removed) == (1, 0, 0)
    _assert_in_sync(settings, corpus)
    # `bot remove` takes the linked folder out by the name it was read through.
    assert make_indexer(settings, embedder=counting(), progress=False).remove([corpus / "linked"]).files_removed == 1
    assert "linked/museum.txt" not in {a["source"] for a in list_articles(settings)}


def test_removing_a_link_takes_out_only_what_was_read_through_it(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path
) -> None:
    """`bot remove corpus/loop` (loop -> corpus) emptied the whole index: the link's target was removed too."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n", encoding="utf-8")
    (corpus / "loop").symlink_to(corpus)
    (corpus / "to-other").symlink_to(other)  # read through this name
    (tmp_path / "alias").symlink_to(other)  # never indexed through
    first = _index(settings, counting(), corpus)
    assert first.files == 3
    indexer = make_indexer(settings, embedder=counting(), progress=False)
    assert indexer.remove([corpus / "loop"]).files_removed == 0
    assert indexer.remove([tmp_path / "alias"]).files_removed == 0
    assert open_store(settings).count() == first.chunks_total
    gone = indexer.remove([corpus / "to-other"])
    assert gone.files_removed == 1 and set(_by_file(open_store(settings))) == {MULTI, SINGLE}


def test_removing_the_link_that_was_indexed_takes_out_what_was_read_through_it(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path
) -> None:
    """`bot index mylink` then `bot remove mylink` said nothing was indexed there: the files are stored under the
    link's target. The same for a link to a file, and for a folder link whose folder is gone since."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n", encoding="utf-8")
    (tmp_path / "mylink").symlink_to(corpus)
    (tmp_path / "otherlink").symlink_to(other)
    (tmp_path / "filelink.txt").symlink_to(other / "note.txt")
    first = _index(settings, counting(), tmp_path / "mylink")
    _index(settings, counting(), tmp_path / "filelink.txt")
    indexer = make_indexer(settings, embedder=counting(), progress=False)
    gone = indexer.remove([tmp_path / "filelink.txt"])
    assert (gone.files_removed, gone.chunks_total) == (1, first.chunks_total)
    gone = indexer.remove([tmp_path / "mylink"])
    assert (gone.files_removed, gone.chunks_removed, gone.chunks_total) == (2, first.chunks_total, 0)

    _index(settings, counting(), tmp_path / "otherlink")
    shutil.rmtree(other)  # the link is broken now: what was indexed through it still goes
    assert indexer.remove([tmp_path / "otherlink"]).files_removed == 1 and open_store(settings).count() == 0


def test_removing_a_link_to_a_file_indexed_in_a_folder_leaves_the_file(
    settings: Settings, corpus: Path, counting: Counting
) -> None:
    """`bot remove corpus/latest.txt` (latest.txt -> a file of the corpus) said "Removed 1 files": the real
    article was taken out, as if the link had been given to `bot index`."""
    (corpus / "latest.txt").symlink_to(corpus / SINGLE)
    first = _index(settings, counting(), corpus)
    gone = make_indexer(settings, embedder=counting(), progress=False).remove([corpus / "latest.txt"])
    assert gone.files_removed == 0 and gone.warnings == [f"Nothing is indexed under {corpus / 'latest.txt'}."]
    assert open_store(settings).count() == first.chunks_total and SINGLE in _by_file(open_store(settings))


def test_a_plain_run_after_a_model_change_builds_beside_the_index_in_use(
    settings: Settings, corpus: Path, counting: Counting, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built with another model, the index was dropped at once: interrupted, the run left a part of it, and the
    folders it did not name were gone without a word."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n", encoding="utf-8")
    old = _index(settings, counting(name="other-model"), corpus)
    _index(settings, counting(name="other-model"), other)
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    interrupted = counting(interrupt_on_call=2)
    warnings: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        make_indexer(settings, embedder=interrupted, progress=False).run([corpus], on_warning=warnings.append)
    assert warnings == [index.build.REBUILDING,
                        f"The index also held articles indexed from {other.resolve()}; the given folders do not "
                        "include them, so the new index leaves them out. Pass them too to keep them."]
    store = open_store(settings)
    assert store.count() == old.chunks_total + 1 and store.signature().embedding_model == "other-model"

    finishing = counting()
    summary = _index(settings, finishing, corpus)
    assert summary.rebuilt and summary.warnings[0] == index.build.REBUILDING
    assert not set(finishing.encoded) & set(interrupted.encoded)  # the interrupted run's chunks are taken up
    assert open_store(settings).signature().embedding_model == finishing.name
    _assert_in_sync(settings, corpus)
    assert not {name for name in _collections(settings) if name.endswith(index.build.REBUILD_SUFFIX)}


class Killed(BaseException):
    """`kill -9`: the run stops where it is, with no handler or `finally` to tidy up after it."""


def _killed_at(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Make the run die as the swap reaches `step`: "rename" (the old index dropped, the rebuild not yet renamed)
    or "drop" (both still there)."""
    from chromadb.api.client import Client
    from chromadb.api.models.Collection import Collection

    if step == "rename":
        real_modify = Collection.modify

        def modify(self: Collection, *args: object, **options: object) -> None:
            if options.get("name") is not None:
                raise Killed
            real_modify(self, *args, **options)

        monkeypatch.setattr(Collection, "modify", modify)
    else:
        monkeypatch.setattr(Client, "delete_collection", lambda self, *args, **options: (_ for _ in ()).throw(Killed))


def test_a_run_killed_between_dropping_the_index_and_renaming_the_rebuild_is_finished_by_the_next_open(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`kill -9` in the milliseconds between the two steps of the swap left the new index under its rebuild name:
    every face said there was no index until the next `bot index --rebuild`."""
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "note.txt").write_text("The Qinhuai River glitters in early summer, the guide said.\n",
                                                 encoding="utf-8")
    _index(settings, counting(), tmp_path / "other")
    with monkeypatch.context() as crash:
        _killed_at(crash, "rename")
        with pytest.raises(Killed):
            _index(settings, counting(), corpus, rebuild=True)
    side = settings.collection + index.build.REBUILD_SUFFIX
    assert settings.collection not in _collections(settings) and side in _collections(settings)

    with caplog.at_level(logging.WARNING):
        answer = build_pipeline(settings, embedder=embedder).ask(QUESTION)
    assert "June 30, 2008" in answer.answer
    [notice] = [r.getMessage() for r in caplog.records if r.name.startswith("index")]
    assert notice.startswith("A `bot index` was stopped while it swapped a complete rebuild in; the swap is finished")
    assert "\n" not in notice
    assert settings.collection in _collections(settings) and side not in _collections(settings)
    assert REBUILD_COMPLETE not in (open_store(settings).collection.metadata or {})  # taken up, it is unmarked
    # The rebuilt index holds the rebuild's folder alone; a plain run finds nothing to do and nothing left beside.
    again = counting()
    summary = _index(settings, again, corpus)
    assert summary.warnings == [] and again.encoded == [] and summary.chunks_removed == 0
    _assert_in_sync(settings, corpus)


def test_only_a_complete_rebuild_is_taken_up_when_the_index_is_gone(
    settings: Settings, corpus: Path, counting: Counting, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild interrupted while it was built holds part of the articles: it must never become the index."""
    monkeypatch.setattr(index.build, "WRITE_BATCH", 8)
    with pytest.raises(KeyboardInterrupt):  # a first `bot index --rebuild`: there is no index in use
        _index(settings, counting(interrupt_on_call=2), corpus, rebuild=True)
    side = settings.collection + index.build.REBUILD_SUFFIX
    with pytest.raises(IndexMissingError):
        build_pipeline(settings, embedder=embedder).ask(QUESTION)
    assert _collections(settings) == {side}

    # Complete once (killed before the old index was dropped), then taken up again by a --rebuild that was
    # interrupted: it is partial again, and stays beside a missing index.
    _index(settings, counting(), corpus, rebuild=True)
    with monkeypatch.context() as crash:
        _killed_at(crash, "drop")
        with pytest.raises(Killed):
            _index(settings, counting(), corpus, rebuild=True)
    (corpus / "new.txt").write_text("Harbour news\n\nThe new ferry to Chongming starts in May.\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        _index(settings, counting(interrupt_on_call=1), corpus, rebuild=True)
    open_store(settings)._client.delete_collection(settings.collection)
    with pytest.raises(IndexMissingError):
        build_pipeline(settings, embedder=embedder).ask(QUESTION)
    assert _collections(settings) == {side}


def test_sigterm_while_the_new_index_is_swapped_in_waits_until_it_is_done(
    settings: Settings, corpus: Path, counting: Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kill` (SIGTERM, as `bot index` handles it) half-way through the swap would leave no index."""
    _index(settings, counting(), corpus)
    real_replace = ChunkStore.replace_with

    def terminate_mid_swap(self: ChunkStore, other_store: ChunkStore) -> None:
        signal.raise_signal(signal.SIGTERM)
        real_replace(self, other_store)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ChunkStore, "replace_with", terminate_mid_swap)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(KeyboardInterrupt):
            _index(settings, counting(), corpus, rebuild=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _assert_in_sync(settings, corpus)
    assert not {name for name in _collections(settings) if name.endswith(index.build.REBUILD_SUFFIX)}
