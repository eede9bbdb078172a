"""Wires the settings to the build-time indexer (index/ knows nothing of bot's settings)."""
from __future__ import annotations

from typing import Any

from bot.settings import Settings
from index.build import Indexer, file_path
from index.embedder import Embedder
from index.store import ChunkStore, make_client


def open_store(settings: Settings, *, client: Any = None) -> ChunkStore:
    where_it_is = store_description(settings)
    if client is not None or settings.chroma_url:
        client = client if client is not None else make_client(
            url=settings.chroma_url, timeout=settings.chroma_timeout, named=settings.named("chroma_url"),
            leave_out=settings.leave_out("chroma_url"))
        return ChunkStore(client, name=settings.collection, where_it_is=where_it_is)

    def connect() -> Any:
        return make_client(path=settings.chroma_dir)

    return ChunkStore(connect(), name=settings.collection, where_it_is=where_it_is, connect=connect)


def store_description(settings: Settings) -> str:
    """Where the index is, for messages ("No index in ... yet"): a server's collection is named always, as is an
    embedded store's other than the default, so a mistyped collection does not read as an empty server."""
    if settings.chroma_url:
        return f"collection {settings.collection} on {settings.chroma_url}"
    if settings.collection != Settings().collection:  # (not the default)
        return f"collection {settings.collection} in {settings.chroma_dir}"
    return str(settings.chroma_dir)


def check_models(settings: Settings, *, embedder: bool = True) -> None:
    """Refuse, in one line naming the setting, a model folder that cannot work: before a server says "ready" or a
    question loads them (an empty reranker folder failed every question with a 500, a bi-encoder given as the
    reranker quietly ruined answers). Cheap: looks at the folders' files, loads nothing."""
    from index.embedder import check_cross_encoder_folder

    if embedder:
        Embedder(model_path=settings.model_path).check()
    if settings.reranker_path:
        check_cross_encoder_folder(
            settings.reranker_path,
            fix=f"Point {settings.named('reranker_path')} at a local CrossEncoder folder (a sentence-transformers "
                f"cross-encoder, such as ms-marco-MiniLM-L-6-v2), or {settings.leave_out('reranker_path')}.")


def make_indexer(settings: Settings, *, embedder: Embedder | None = None, client: Any = None,
                 progress: bool = True) -> Indexer:
    return Indexer(
        store=open_store(settings, client=client),
        embedder=embedder or Embedder(model_path=settings.model_path, batch_size=settings.embed_batch_size),
        bm25_dir=settings.bm25_dir,
        max_wordpieces=settings.chunk_tokens,
        overlap_sentences=settings.chunk_overlap_sentences,
        progress=progress,
    )


def list_articles(settings: Settings, *, client: Any = None) -> list[dict[str, Any]]:
    """Every indexed article: title, published, source, path (of its file), chunk count (sorted by source, then
    position)."""
    store = open_store(settings, client=client)
    if store.count() == 0:
        from index.store import IndexMissingError

        raise IndexMissingError(f"No index in {store.where_it_is} yet. Build it with `bot index [FOLDER ...]`.")
    articles: dict[tuple[str, str, int], dict[str, Any]] = {}
    for chunk in store.iter_chunks(documents=False):
        meta = chunk.metadata
        key = (str(meta.get("corpus", "")), str(meta.get("source", "")), int(meta.get("article", 0)))
        if key not in articles:
            articles[key] = {"title": meta.get("title", ""), "published": meta.get("published") or None,
                             "source": meta.get("source", ""), "path": file_path(key[0], key[1]), "chunks": 0}
        articles[key]["chunks"] += 1
    return [articles[key] for key in sorted(articles)]
