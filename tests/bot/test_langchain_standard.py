"""LangChain's own standard retriever suite (langchain-tests) run against `NewsRetriever` over the real seeds index.

The suite builds the retriever itself from `retriever_constructor(**retriever_constructor_params)`, passing `k` to the
constructor and to `invoke`; the params carry the session's HybridRetriever (real MiniLM, embedded Chroma, BM25).
"""
from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from bot.retrieval import NewsRetriever
from tests.bot.conftest import SUTONG_QUESTION

pytestmark = pytest.mark.integration


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _hybrid(self, seeds_hybrid: Any) -> None:
        # The suite reads the constructor params as a property, outside any fixture: hand it the session's index.
        self.hybrid = seeds_hybrid

    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"hybrid": self.hybrid, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return SUTONG_QUESTION
