"""Hybrid retrieval: filters, fusion, MMR, the cross-encoder reranker and the LangChain retriever.

Unit tests use plain dicts and a fake hybrid retriever; the integration tests run the real MiniLM over an embedded
Chroma index of seeds/ (000_... holds six articles, only the first dated 2024-05-14; 003_... one, 2024-01-30).
"""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document

from bot.errors import UsageError
from bot.retrieval import RRF_K, HybridRetriever, NewsRetriever, Reranker, SearchFilters, passage_to_document
from bot.schema import Passage
from tests.bot.conftest import SUTONG_QUESTION, make_passage

MULTI = "000_f5096a39126c624c.txt"
SINGLE = "003_ea7677fb405ea616.txt"


# --- filters --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filters", [None, {}, {"source": ""}, {"source": None, "published_from": "  "}])
def test_no_filter(filters: dict | None) -> None:
    assert SearchFilters.from_mapping(filters) is None


def test_filters_from_mapping() -> None:
    filters = SearchFilters.from_mapping({"source": " 003 ", "published_from": date(2024, 1, 1),
                                          "published_to": "2024-12-31"})
    assert filters == SearchFilters(source="003", published_from="2024-01-01", published_to="2024-12-31")


def test_unknown_filter_is_named() -> None:
    with pytest.raises(UsageError, match="'author'"):
        SearchFilters.from_mapping({"author": "Sun Yan"})


@pytest.mark.parametrize(("key", "value"), [("published_from", "yesterday"), ("published_to", "2024-13-01"),
                                            ("published_from", "14/05/2024")])
def test_bad_date_names_filter_and_value(key: str, value: str) -> None:
    with pytest.raises(UsageError, match=rf"{key}.*{value}"):
        SearchFilters.from_mapping({key: value})


@pytest.mark.parametrize(("filters", "meta", "matches"), [
    (SearchFilters(source="003"), {"source": SINGLE}, True),
    (SearchFilters(source="000_F5096"), {"source": MULTI}, True),  # case-insensitive substring
    (SearchFilters(source=MULTI), {"source": MULTI}, True),  # the exact source
    (SearchFilters(source="003"), {"source": MULTI}, False),
    (SearchFilters(published_from="2024-05-14"), {"published_ts": 20240514}, True),  # both ends inclusive
    (SearchFilters(published_to="2024-05-14"), {"published_ts": 20240514}, True),
    (SearchFilters(published_from="2024-05-15"), {"published_ts": 20240514}, False),
    (SearchFilters(published_to="2024-01-29"), {"published_ts": 20240130}, False),
    (SearchFilters(published_from="2024-01-01", published_to="2024-12-31"), {"published_ts": 20240130}, True),
    # An undated article cannot be shown to lie in a date range.
    (SearchFilters(published_from="2000-01-01"), {"published_ts": 0}, False),
    (SearchFilters(source="000"), {"source": MULTI, "published_ts": 0}, True),
])
def test_filters_match(filters: SearchFilters, meta: dict, matches: bool) -> None:
    assert filters.matches(meta) is matches


@pytest.mark.parametrize(("source", "matches"), [
    ("sports", True), ("SPORTS", True), ("archive/sports", True), ("sports/2024/derby", True),  # the folder, too
    ("derby.txt", True), ("/srv/archive/sports/2024/derby.txt", True),
    ("articles", False), ("sports/derby", False),
])
def test_the_source_filter_matches_the_folder_an_article_was_indexed_from(source: str, matches: bool) -> None:
    """`--source articles` said "No article matches your filter" for articles that `bot sources` showed "indexed
    from .../articles": only the path below the folder was matched, so one of two indexed folders could not be
    asked alone."""
    meta = {"source": "2024/derby.txt", "corpus": "/srv/archive/sports"}
    assert SearchFilters(source=source).matches(meta) is matches


def test_the_source_filter_matches_a_file_indexed_on_its_own_by_its_path() -> None:
    meta = {"source": "derby.txt", "corpus": "/srv/archive/derby.txt"}  # a file given directly is its own corpus
    assert SearchFilters(source="archive/derby").matches(meta)
    assert not SearchFilters(source="derby.txt/derby").matches(meta)


# --- the LangChain face, with a fake hybrid retriever -----------------------------------------------------------


class FakeHybrid:
    """Returns `k` numbered passages and records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def retrieve(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> list[Passage]:
        self.calls.append({"query": query, "k": k, "filters": filters})
        return [make_passage(f"Text {i}.", chunk_id=f"c{i}", rank=i, sentvecs="AAAA") for i in range(1, (k or 5) + 1)]


def test_passage_to_document() -> None:
    passage = make_passage("The Sutong Bridge opened.", chunk_id="c9", rank=2, sentvecs="AAAA")
    document = passage_to_document(passage)
    assert isinstance(document, Document)
    assert (document.page_content, document.id) == ("The Sutong Bridge opened.", "c9")
    assert "sentvecs" not in document.metadata  # packed vectors are no use to a LangChain caller
    assert document.metadata["id"] == "c9" and document.metadata["rank"] == 2
    assert document.metadata["score"] == passage.score and document.metadata["dense_score"] == 0.8
    assert document.metadata["title"] == "Sutong Bridge opens" and document.metadata["source"] == "bridges.txt"


def test_news_retriever_passes_k_and_filters() -> None:
    hybrid = FakeHybrid()
    retriever = NewsRetriever(hybrid=hybrid, k=2)
    assert [d.id for d in retriever.invoke("q")] == ["c1", "c2"]
    assert len(retriever.invoke("q", k=4)) == 4
    retriever.invoke("q", filters={"source": "003"})
    assert [c["k"] for c in hybrid.calls] == [2, 4, 2]
    assert hybrid.calls[2]["filters"] == SearchFilters(source="003")
    with pytest.raises(UsageError, match="published_to"):
        retriever.invoke("q", filters={"published_to": "soon"})


def test_news_retriever_default_filters() -> None:
    hybrid = FakeHybrid()
    NewsRetriever(hybrid=hybrid, filters={"source": "000"}).invoke("q")
    assert hybrid.calls[0]["filters"] == SearchFilters(source="000")


def test_hybrid_retriever_checks_k_and_candidates() -> None:
    with pytest.raises(ValueError, match="k must be greater than 0"):
        HybridRetriever(store=None, embedder=None, bm25_dir=Path("x"), k=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="candidates must be at least k"):
        HybridRetriever(store=None, embedder=None, bm25_dir=Path("x"), k=5, candidates=4)  # type: ignore[arg-type]


def test_reranker_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="absent"):
        Reranker(str(tmp_path / "absent"))


# --- integration: the real index of seeds/ --------------------------------------------------------------------


def _like(hybrid: HybridRetriever, **options: Any) -> HybridRetriever:
    """A retriever over the same index and model with other options (the session's one stays untouched)."""
    return HybridRetriever(store=hybrid.store, embedder=hybrid.embedder, bm25_dir=hybrid.bm25_dir, **options)


def _mean_pairwise_similarity(hybrid: HybridRetriever, ids: Sequence[str]) -> float:
    result = hybrid.store.collection.get(ids=list(ids), include=["embeddings"])
    vectors = dict(zip(result["ids"], np.asarray(result["embeddings"], dtype=np.float32), strict=True))
    matrix = np.stack([vectors[i] for i in ids])
    n = len(ids)
    return float((matrix @ matrix.T).sum() - n) / (n * n - n)


@pytest.mark.integration
def test_the_sutong_passage_comes_first(seeds_hybrid: HybridRetriever) -> None:
    passages = seeds_hybrid.retrieve(SUTONG_QUESTION)
    assert len(passages) == 5
    top = passages[0]
    assert "Sutong Bridge" in top.text and "June 30, 2008" in top.text
    assert (top.rank, top.source, top.published) == (1, MULTI, "2024-05-14")
    assert top.dense_score is not None and top.dense_score > 0.4
    assert top.bm25_score is not None and top.bm25_score > 0
    # Found by both sides, high on each: its fused score is close to 2 / (RRF_K + 1).
    assert top.score > 1.5 / (RRF_K + 1)
    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert len({p.chunk_id for p in passages}) == 5


@pytest.mark.integration
@pytest.mark.parametrize("k", [1, 3, 7])
def test_k_is_respected(seeds_hybrid: HybridRetriever, k: int) -> None:
    assert len(seeds_hybrid.retrieve(SUTONG_QUESTION, k=k)) == k


@pytest.mark.integration
def test_k_above_candidates_returns_everything_once(seeds_hybrid: HybridRetriever) -> None:
    total = len(seeds_hybrid.bm25)
    passages = seeds_hybrid.retrieve(SUTONG_QUESTION, k=total + 10)
    assert len(passages) == len({p.chunk_id for p in passages}) == total


@pytest.mark.integration
def test_negative_k_is_a_usage_error(seeds_hybrid: HybridRetriever) -> None:
    with pytest.raises(UsageError, match="k must be greater than 0"):
        seeds_hybrid.retrieve(SUTONG_QUESTION, k=-1)


@pytest.mark.integration
def test_k_zero_is_a_usage_error(seeds_hybrid: HybridRetriever) -> None:
    with pytest.raises(UsageError, match="k must be greater than 0"):
        seeds_hybrid.retrieve(SUTONG_QUESTION, k=0)


@pytest.mark.integration
def test_news_retriever_k_zero_is_a_usage_error(seeds_hybrid: HybridRetriever) -> None:
    with pytest.raises(UsageError):
        NewsRetriever(hybrid=seeds_hybrid, k=2).invoke(SUTONG_QUESTION, k=0)


@pytest.mark.integration
@pytest.mark.parametrize(("source", "expected"), [("003", SINGLE), ("000_F5096", MULTI), (MULTI, MULTI)])
def test_source_filter(seeds_hybrid: HybridRetriever, source: str, expected: str) -> None:
    passages = seeds_hybrid.retrieve(SUTONG_QUESTION, k=7, filters=SearchFilters(source=source))
    assert len(passages) == 7
    assert {p.source for p in passages} == {expected}


@pytest.mark.integration
def test_date_filters(seeds_hybrid: HybridRetriever) -> None:
    may = seeds_hybrid.retrieve(SUTONG_QUESTION, k=10, filters=SearchFilters.from_mapping(
        {"published_from": "2024-05-01", "published_to": "2024-05-31"}))
    assert may and {p.published for p in may} == {"2024-05-14"}
    assert may[0].text == seeds_hybrid.retrieve(SUTONG_QUESTION, k=1)[0].text
    january = seeds_hybrid.retrieve(SUTONG_QUESTION, k=30, filters=SearchFilters.from_mapping(
        {"published_from": "2024-01-30", "published_to": "2024-01-30"}))
    assert {p.source for p in january} == {SINGLE} and len(january) == sum(
        1 for m in seeds_hybrid.bm25.meta if m["source"] == SINGLE)


@pytest.mark.integration
@pytest.mark.parametrize("filters", [{"published_from": "2030-01-01"}, {"published_to": "1999-12-31"},
                                     {"source": "no-such-file"}, {"source": "003", "published_from": "2024-02-01"}])
def test_filters_that_exclude_everything_give_no_passages(seeds_hybrid: HybridRetriever, filters: dict) -> None:
    assert seeds_hybrid.retrieve(SUTONG_QUESTION, filters=SearchFilters.from_mapping(filters)) == []


@pytest.mark.integration
def test_bad_date_filter_through_the_langchain_retriever(seeds_hybrid: HybridRetriever) -> None:
    with pytest.raises(UsageError, match="published_from.*2024-5-1x"):
        NewsRetriever(hybrid=seeds_hybrid).invoke(SUTONG_QUESTION, filters={"published_from": "2024-5-1x"})


@pytest.mark.integration
def test_news_retriever_over_the_index(seeds_hybrid: HybridRetriever) -> None:
    documents = NewsRetriever(hybrid=seeds_hybrid, k=3).invoke(SUTONG_QUESTION, filters={"source": "000"})
    assert len(documents) == 3 and "Sutong Bridge" in documents[0].page_content
    assert {d.metadata["source"] for d in documents} == {MULTI}
    assert all("sentvecs" not in d.metadata for d in documents)


@pytest.mark.integration
def test_mmr_returns_k_distinct_and_less_redundant_passages(seeds_hybrid: HybridRetriever) -> None:
    plain = seeds_hybrid.retrieve(SUTONG_QUESTION, k=5)
    diverse = _like(seeds_hybrid, mmr=True, mmr_lambda=0.5).retrieve(SUTONG_QUESTION, k=5)
    assert len(diverse) == len({p.chunk_id for p in diverse}) == 5
    assert [p.rank for p in diverse] == [1, 2, 3, 4, 5]
    assert diverse[0].chunk_id == plain[0].chunk_id  # the most relevant passage still leads
    assert {p.chunk_id for p in diverse} != {p.chunk_id for p in plain}
    assert _mean_pairwise_similarity(seeds_hybrid, [p.chunk_id for p in diverse]) < _mean_pairwise_similarity(
        seeds_hybrid, [p.chunk_id for p in plain])


@pytest.mark.integration
def test_mmr_with_lambda_1_keeps_the_dense_order(seeds_hybrid: HybridRetriever) -> None:
    passages = _like(seeds_hybrid, mmr=True, mmr_lambda=1.0).retrieve(SUTONG_QUESTION, k=3)
    dense = [p.dense_score if p.dense_score is not None else -1.0 for p in passages]
    assert dense == sorted(dense, reverse=True)


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BERT with random weights (seeded) as a sentence-transformers CrossEncoder folder, with the
    packaged MiniLM's tokenizer. Its scores are meaningless but deterministic: enough to test the code path."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification

    from index.embedder import packaged_model_path

    raw = tmp_path_factory.mktemp("tiny-bert")
    minilm = Path(packaged_model_path())
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(minilm / name, raw / name)
    torch.manual_seed(0)
    # A wide initialisation, so the random scores spread out instead of all sitting near 0.5.
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=1, initializer_range=0.5)
    BertForSequenceClassification(config).save_pretrained(str(raw))
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    CrossEncoder(str(raw), device="cpu", local_files_only=True).save(str(folder))
    return str(folder)


class SpyReranker(Reranker):
    """The real Reranker, remembering what it scored."""

    def __init__(self, model_path: str) -> None:
        super().__init__(model_path)
        self.calls: list[tuple[str, list[str], list[float]]] = []

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        scores = super().score(query, texts)
        self.calls.append((query, list(texts), scores.tolist()))
        return scores


@pytest.mark.integration
def test_reranker_orders_the_candidates_by_its_scores(seeds_hybrid: HybridRetriever, tiny_cross_encoder: str) -> None:
    spy = SpyReranker(tiny_cross_encoder)
    reranked = _like(seeds_hybrid, reranker=spy).retrieve(SUTONG_QUESTION, k=5)
    plain = seeds_hybrid.retrieve(SUTONG_QUESTION, k=5)
    [(query, texts, scores)] = spy.calls
    assert query == SUTONG_QUESTION
    assert len(texts) >= 20 and len(set(texts)) == len(texts)  # every fused candidate, once
    assert len(set(scores)) == len(scores)  # the scores tell the candidates apart
    best_first = [text for _, text in sorted(zip(scores, texts, strict=True), reverse=True)]
    assert [p.text for p in reranked] == best_first[:5]
    assert [p.rank for p in reranked] == [1, 2, 3, 4, 5]
    assert [p.chunk_id for p in reranked] != [p.chunk_id for p in plain]
    # Deterministic: a second reranker from the same folder gives the same order.
    again = _like(seeds_hybrid, reranker=Reranker(tiny_cross_encoder)).retrieve(SUTONG_QUESTION, k=5)
    assert [p.chunk_id for p in again] == [p.chunk_id for p in reranked]


@pytest.mark.integration
def test_reranker_from_settings_in_the_pipeline(seeds_settings: Any, shared_embedder: Any,
                                                tiny_cross_encoder: str) -> None:
    from bot.chain import build_pipeline

    pipeline = build_pipeline(seeds_settings.replace(reranker_path=tiny_cross_encoder), embedder=shared_embedder)
    assert isinstance(pipeline.retriever.reranker, Reranker)
    answer = pipeline.ask(SUTONG_QUESTION)
    assert len(answer.passages) == 5 and answer.timings_ms["total"] > 0
