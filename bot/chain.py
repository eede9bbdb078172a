"""One pipeline shared by every face: condense the follow-up -> retrieve -> answer -> cite.

The CLI, the chat UI, the REST and OpenAI-compatible APIs, the widget and `bot eval` all call `Pipeline.ask` or
`Pipeline.stream`, so a number measured by `bot eval` is the number a person gets in the browser.
`AnswerChain` wraps the same pipeline as a LangChain `Runnable` (invoke, batch, stream).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from bot.answerers import (Answerer, Attribution, Draft, ExtractiveAnswerer, IdfLookup, readable_date,
                           sentence_saying, who_said)
from bot.condense import (Condenser, HeuristicCondenser, Turn, asks_for_opinion, asks_who_said,
                           main_question, names_what_it_points_at, points_at_nothing, said_what, two_questions)
from bot.errors import UsageError
from bot.indexing import open_store
from bot.prompts import PromptLibrary
from bot.retrieval import HybridRetriever, Reranker, SearchFilters
from bot.schema import CITATION_MARKER, Answer, AnswerDelta, Citation, Passage
from bot.settings import Settings
from bot.small_talk import asks_what_is_indexed, small_talk_kind
from index.build import index_signature
from index.embedder import Embedder

log = logging.getLogger(__name__)


_STREAM_PIECE = re.compile(r"\S+\s*")
# How many articles the reply to "What articles do you have?" names.
_LIBRARY_SHOWN = 10


class Pipeline:
    """Condense -> retrieve -> answer. Collaborators are passed in; `build_pipeline` wires the real ones."""

    def __init__(
        self,
        *,
        retriever: HybridRetriever,
        answerer: Answerer,
        condenser: Condenser,
        prompts: PromptLibrary,
        max_question_chars: int = 2000,
    ) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.condenser = condenser
        self.prompts = prompts
        self.max_question_chars = max_question_chars

    def warm_up(self) -> None:
        self.retriever.warm_up()

    def stats(self) -> dict[str, Any]:
        """Index size and model, for health checks (raises the store's IndexMissingError when there is none)."""
        bm25 = self.retriever.bm25
        articles = {(m.get("corpus"), m.get("source"), m.get("article")) for m in bm25.meta}
        return {"chunks": len(bm25), "articles": len(articles), "model": self.retriever.embedder.name}

    def check_question(self, question: str) -> str:
        return check_question(question, prompts=self.prompts, max_chars=self.max_question_chars)

    def _check_fits_model(self, question: str) -> None:
        embedder = self.retriever.embedder
        # A word piece holds at least one character: a question no longer than the limit cannot be cut off.
        if len(question) <= embedder.max_wordpieces:
            return
        pieces = embedder.count_wordpieces(question)
        if pieces > embedder.max_wordpieces:
            raise UsageError(self.prompts.render("question_too_long_for_model", pieces=pieces,
                                                 limit=embedder.max_wordpieces))

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        k: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Answer:
        started = time.perf_counter()
        # Cheap checks first, then the index, then the model (which takes seconds to load the first time).
        question = self.check_question(question)
        if k is not None and k <= 0:
            raise UsageError(f"k must be greater than 0. Currently, k is {k}.")
        search_filters = SearchFilters.from_mapping(filters)
        if (reply := self._small_talk(question)) is not None:
            # Nothing searched (not even the index or the model loaded), nothing quoted: abstained, no citations.
            spent = _ms(time.perf_counter() - started)
            return Answer(question=question, answer=reply, abstained=True, citations=[],
                          timings_ms={"retrieve": 0.0, "answer": spent, "total": spent},
                          standalone_question=question, passages=[], small_talk=True)
        idf = self.retriever.bm25
        self._check_fits_model(question)
        if (search_filters is not None and "no_filter_match" in self.prompts.names()
                and not self.retriever.any_match(search_filters)):
            # Not "the articles do not answer": there were no articles to ask.
            spent = _ms(time.perf_counter() - started)
            return Answer(question=question, answer=self.prompts.render("no_filter_match",
                                                                          filters=search_filters.describe()),
                          abstained=True, citations=[], timings_ms={"retrieve": spent, "answer": 0.0, "total": spent},
                          standalone_question=question, passages=[], no_filter_match=True)
        # ("What are your sources?" right after an answer asks for that answer's sources, which it lists.)
        if (asks_what_is_indexed(question) and "library" in self.prompts.names()
                and not (history and re.search(r"\bsources?\b", question, re.IGNORECASE))):
            # About the collection, not its news: the list of articles (those the filters let through; when none
            # does, the reply above says so), from the keyword index's metadata; nothing searched, nothing quoted.
            reply = self._library(search_filters)
            spent = _ms(time.perf_counter() - started)
            return Answer(question=question, answer=reply, abstained=True, citations=[],
                          timings_ms={"retrieve": 0.0, "answer": spent, "total": spent},
                          standalone_question=question, passages=[], small_talk=True)
        history = list(history or [])
        said = [str(t.get("content", "")) for t in history if not isinstance(t, str) and t.get("role") == "assistant"]
        # The answer is to the question the message asks, after what leads up to it (in a new conversation, read as
        # an earlier turn, for the subject it may name) and without the words wrapped around it ("Would you mind
        # telling me ...").
        message = question
        question, lead = main_question(message)
        if asks_for_opinion(question) and "opinion" in self.prompts.names():
            # Advice or a judgement of the bot's own: no article gives it, and a sentence on the same subject would
            # read as one. Declined, saying why; nothing searched. (The question the message asks: "Was reading
            # about Nantong and it sounds great. When did ...?" asks a fact.)
            spent = _ms(time.perf_counter() - started)
            return Answer(question=message, answer=self.prompts.render("opinion"), abstained=True, citations=[],
                          timings_ms={"retrieve": 0.0, "answer": spent, "total": spent},
                          standalone_question=question, passages=[])
        if said and asks_who_said(question) and "said_by" in self.prompts.names():
            # "Who said that?" asks who speaks in what the bot has just quoted: the article tells, not the question.
            # (Its last answer quoting an article: not small talk after it, nor its own reply to "Who said that?".)
            last = next((s for s in reversed(said) if CITATION_MARKER.search(s) and not self._says_who_said(s)), "")
            found = self._who_said(last, k=k, filters=search_filters)
            if found is not None:
                passages, draft, retrieved, standalone = found
                done = time.perf_counter()
                return Answer(question=message, answer=draft.text, abstained=draft.abstained,
                              citations=draft.citations,
                              timings_ms={"retrieve": _ms(retrieved - started), "answer": _ms(done - retrieved),
                                          "total": _ms(done - started)},
                              standalone_question=standalone, passages=passages)
        if (words := said_what(question)) is not None and "said_by" in self.prompts.names():
            # "Who said Ningxi Zai Shao is very famous?": the sentence saying it, and who speaks there (when the
            # article names no one, the question is asked as usual).
            found = self._who_said(words, k=k, filters=search_filters, named_only=True)
            if found is not None:
                passages, draft, retrieved, standalone = found
                done = time.perf_counter()
                return Answer(question=message, answer=draft.text, abstained=draft.abstained,
                              citations=draft.citations,
                              timings_ms={"retrieve": _ms(retrieved - started), "answer": _ms(done - retrieved),
                                          "total": _ms(done - started)},
                              standalone_question=standalone, passages=passages)
        # (In a conversation, the lead-up is no turn of its own: "Oh nice, I had never heard of it." would push the
        # answer it follows out of the conversation.)
        asked_in = history if not lead or history else [{"role": "user", "content": lead}]
        # Two questions joined by "and" ("When did the bridge open and how busy is it?") are answered in turn, the
        # second as a follow-up of the first; when neither is, the question is asked whole.
        parts = two_questions(question)
        both = self._ask_both(parts, asked_in, k=k, filters=search_filters, said=said, idf=idf) if parts else None
        if both is not None:
            passages, draft, retrieved, standalone = both
        else:
            passages, draft, retrieved, standalone = self._ask(question, asked_in, k=k, filters=search_filters,
                                                               said=said, idf=idf)
        if draft.abstained and question != message:
            # The message as written, when the question read out of it finds nothing ("Please tell me who Meng
            # Qingdong of Canny Elevator is?").
            found = self._ask(message, history, k=k, filters=search_filters, said=said, idf=idf)
            if not found[1].abstained:
                passages, draft, retrieved, standalone = found
        done = time.perf_counter()
        return Answer(
            question=message,
            answer=draft.text,
            abstained=draft.abstained,
            citations=draft.citations,
            timings_ms={"retrieve": _ms(retrieved - started), "answer": _ms(done - retrieved),
                        "total": _ms(done - started)},
            standalone_question=standalone,
            passages=passages,
        )

    def _ask(self, question: str, history: list[Turn], *, k: int | None, filters: SearchFilters,
             said: Sequence[str], idf: IdfLookup) -> tuple[list[Passage], Draft, float, str]:
        """Condense, retrieve and answer, with the retries below: (passages, draft, when retrieval ended, the
        standalone question retrieval read)."""
        standalone = self.condenser.condense(question, history)
        passages, draft, retrieved = self._answer(question, standalone, k=k, filters=filters, said=said,
                                                  idf=idf)
        # Read as a follow-up, a question whose pointing words all follow a name of its own may have taken the
        # conversation's subject wrongly ("Sutong Bridge - when did it open?" after a question about Huangyan): when
        # that reading finds nothing, the question is tried as it stands.
        # So is one with no pointing word at all, read as a follow-up only because it has few words of its own
        # ("What do you know about baijiu?" after the bridge).
        if draft.abstained and standalone != question and (names_what_it_points_at(question)
                                                           or points_at_nothing(question)):
            standalone = question
            passages, draft, retrieved = self._answer(question, standalone, k=k, filters=filters, said=said,
                                                      idf=idf)
        # The other way round: a question that looks whole ("What was released at the opening ceremony?") but finds
        # nothing alone may lean on the conversation (the Kunshan expo asked about before).
        elif draft.abstained and standalone == question and history:
            leaning = self.condenser.condense(question, history, lean=True)
            if leaning != question:
                found = self._answer(question, leaning, k=k, filters=filters, said=said, idf=idf)
                if not found[1].abstained:
                    standalone, (passages, draft, retrieved) = leaning, found
        return passages, draft, retrieved, standalone

    def _ask_both(self, parts: tuple[str, str], history: list[Turn], *, k: int | None, filters: SearchFilters,
                  said: Sequence[str], idf: IdfLookup) -> tuple[list[Passage], Draft, float, str] | None:
        """Each of two questions asked together, the second after the first's answer: their answers joined, or
        None when neither is answered."""
        first, second = parts
        passages, draft, _, standalone = self._ask(first, history, k=k, filters=filters, said=said, idf=idf)
        after = [*history, {"role": "user", "content": first}, {"role": "assistant", "content": draft.text}]
        more, other, retrieved, other_standalone = self._ask(
            second, after, k=k, filters=filters, said=[*said, draft.text] if not draft.abstained else said, idf=idf)
        if other.abstained and history:
            # "he" may be the conversation's, not the first part's ("When did the bridge open and what company does
            # he work for?" after "Who is Meng Qingdong?").
            more, other, retrieved, other_standalone = self._ask(second, history, k=k, filters=filters, said=said,
                                                                 idf=idf)
        if draft.abstained and other.abstained:
            return None
        unanswered = [self.prompts.render("part_unanswered", question=part) for part, d in ((first, draft),
                                                                                        (second, other))
                      if d.abstained and "part_unanswered" in self.prompts.names()]
        seen = {p.chunk_id for p in passages}
        return ([*passages, *(p for p in more if p.chunk_id not in seen)],
                joined_drafts([d for d in (draft, other) if not d.abstained], unanswered), retrieved,
                f"{standalone} {other_standalone}")

    def _says_who_said(self, reply: str) -> bool:
        """Is this the bot's reply to "Who said that?" (prompts/said_by.txt), not a quote from an article?"""
        text = CITATION_MARKER.sub("", reply).strip()
        nobody = self.prompts.render("said_by", speaker="", unnamed=False)
        someone = self.prompts.render("said_by", speaker="\x00", unnamed=False).split("\x00")[-1]
        return text == nobody or bool(someone) and text.endswith(someone) and len(text.split()) <= 30

    def _who_said(self, last: str, *, k: int | None, filters: SearchFilters | None,
                  named_only: bool = False) -> tuple[list[Passage], Draft, float, str] | None:
        """Who speaks in the first quote of `last`, the bot's last answer (or, `named_only`, in the sentence saying
        the words `last` gives): found by searching for the quote itself, then read from its article (its sentence,
        an open quotation, the interview paragraph it belongs to). None when the last answer quoted nothing, or its
        quote is not found, or (`named_only`) the article names no speaker: the question is then asked as usual."""
        if named_only:
            quote = last
        else:
            quote = next((q.strip() for q in CITATION_MARKER.split(last) if q.strip()), "")
            if not quote or not CITATION_MARKER.search(last):
                return None
        passages = self.retriever.retrieve(quote, k=k, filters=filters)
        retrieved = time.perf_counter()
        standalone = f"Who said: {quote}"
        if named_only:
            saying = sentence_saying(quote, passages)
            if saying is None:
                return None
            passages_first = [saying[0], *(p for p in passages if p is not saying[0])]
            quote = saying[1]
        else:
            passages_first = passages
        for passage in passages_first:
            said = who_said(quote, passage)
            if said is None:
                continue
            if said.attribution is None or said.attribution == "":
                # Perhaps an interview's: what its article says before the quote tells.
                said = who_said(quote, passage, self.retriever.article_of(passage)) or said
            found = said.attribution
            if named_only and not isinstance(found, Attribution):
                return None
            if found == "":
                return passages, Draft(self.prompts.render("said_by", speaker="", unnamed=True), True, []), \
                    retrieved, standalone
            holder = said.passage
            citation = Citation(n=1, title=holder.title, published=holder.published, source=holder.source,
                                chunk_id=holder.chunk_id, text=holder.text, quote=holder.text[said.start:said.end],
                                score=round(passage.score, 4), quote_start=said.start, quote_end=said.end)
            # ("the trade commissioner said it." opens the reply.)
            speaker = found.speaker[:1].upper() + found.speaker[1:] if found is not None else ""
            text = self.prompts.render("said_by", speaker=speaker, unnamed=False)
            return passages, Draft(f"{text} [1]", False, [citation]), retrieved, standalone
        return None

    def _small_talk(self, question: str) -> str | None:
        """The reply to a message that is only a greeting, thanks or goodbye (from prompts/small_talk.txt); None for
        a question, or when a custom prompts folder has no such template (the message is then searched for)."""
        kind = small_talk_kind(question)
        if kind is None or "small_talk" not in self.prompts.names():
            return None
        return self.prompts.render("small_talk", kind=kind)

    def _library(self, search_filters: SearchFilters | None) -> str:
        """The reply to "What articles do you have?": the articles, newest first (undated ones last, in index
        order), from prompts/library.txt."""
        seen: dict[tuple[Any, Any, Any], Mapping[str, Any]] = {}
        for meta in self.retriever.bm25.meta:
            key = (meta.get("corpus"), meta.get("source"), meta.get("article"))
            if key not in seen and (search_filters is None or search_filters.matches(meta)):
                seen[key] = meta
        ordered = sorted(seen.values(), key=lambda m: -int(str(m.get("published_ts") or 0) or 0))
        articles = []
        for meta in ordered[:_LIBRARY_SHOWN]:
            stamp = str(meta.get("published_ts") or "")
            date = readable_date(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}") if len(stamp) == 8 else ""
            articles.append({"title": str(meta.get("title") or meta.get("source") or ""), "date": date})
        return self.prompts.render("library", count=len(ordered), articles=articles,
                                   more=max(0, len(ordered) - _LIBRARY_SHOWN))

    def _answer(self, question: str, standalone: str, *, k: int | None, filters: SearchFilters,
                said: Sequence[str], idf: IdfLookup) -> tuple[list[Passage], Draft, float]:
        """Retrieve for the standalone reading, answer the question: (passages, draft, when retrieval ended)."""
        vector = self.retriever.embedder.encode_query(standalone)
        passages = self.retriever.retrieve(standalone, k=k, filters=filters, query_vector=vector)
        retrieved = time.perf_counter()
        draft = self.answerer.answer(question, passages, query_vector=vector, idf=idf,
                                     standalone_question=standalone, said=said,
                                     embed=self.retriever.embedder.encode_query)
        return passages, draft, retrieved

    def stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        k: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Iterator[AnswerDelta | Answer]:
        """Answer text in pieces as it is produced, then the full Answer. The extractive answer is produced at
        once, so its pieces follow each other immediately; a generative answerer streams tokens here."""
        answer = self.ask(question, history=history, k=k, filters=filters)
        for match in _STREAM_PIECE.finditer(answer.answer):
            yield AnswerDelta(match.group(0))
        yield answer


def joined_drafts(drafts: Sequence[Draft], unanswered: Sequence[str] = ()) -> Draft:
    """One answer of several, their [n] numbered on (a passage quoted again keeps its number; an answer quoting
    only what the ones before it quoted is not repeated), then what was not answered."""
    texts: list[str] = []
    citations: list[Citation] = []
    for draft in drafts:
        numbers: dict[int, int] = {}
        quoted = len(citations)
        for citation in draft.citations:
            # (The same quote, or one a quote before holds: "On June 30, 2008, ... opened." after that sentence and
            # the next quoted together.)
            same = next((c for c in citations if c.chunk_id == citation.chunk_id and citation.quote in c.quote), None)
            if same is None:
                same = replace(citation, n=len(citations) + 1)
                citations.append(same)
            numbers[citation.n] = same.n
        if len(citations) > quoted or not draft.citations and draft.text not in texts:
            texts.append(re.sub(r"\[(\d+)\]", lambda m: f"[{numbers.get(int(m.group(1)), int(m.group(1)))}]",
                                draft.text))
    return Draft("\n\n".join([*texts, *unanswered]), not texts, citations)


def check_question(question: str, *, prompts: PromptLibrary, max_chars: int) -> str:
    """The question, stripped; a UsageError (message from prompts/) when it is empty or too long. Shared by the
    pipeline and the web API (which answers 422 before it starts streaming)."""
    if not isinstance(question, str) or not question.strip():
        raise UsageError(prompts.render("empty_question"))
    question = question.strip()
    if len(question) > max_chars:
        raise UsageError(prompts.render("question_too_long", length=len(question), limit=max_chars))
    return question


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def build_pipeline(settings: Settings, *, embedder: Embedder | None = None, client: Any = None) -> Pipeline:
    """The real pipeline for `settings`. Nothing heavy happens here: the model and indexes load on first use."""
    embedder = embedder or Embedder(model_path=settings.model_path, batch_size=settings.embed_batch_size)
    store = open_store(settings, client=client)
    prompts = PromptLibrary(settings.prompts_dir)
    retriever = HybridRetriever(
        store=store,
        embedder=embedder,
        bm25_dir=settings.bm25_dir,
        signature=lambda: index_signature(embedder, max_wordpieces=settings.chunk_tokens,
                                          overlap_sentences=settings.chunk_overlap_sentences),
        k=settings.k,
        candidates=max(settings.candidates, settings.k),
        mmr=settings.mmr,
        mmr_lambda=settings.mmr_lambda,
        reranker=Reranker(settings.reranker_path) if settings.reranker_path else None,
    )
    answerer = _make_answerer(settings, prompts)
    return Pipeline(retriever=retriever, answerer=answerer, condenser=HeuristicCondenser(), prompts=prompts,
                    max_question_chars=settings.max_question_chars)


def _make_answerer(settings: Settings, prompts: PromptLibrary) -> Answerer:
    if settings.answerer == "extractive":
        from bot.answerers import ExtractiveConfig

        def article_fact_message(title: str, field: str, value: str) -> str:
            return prompts.render("article_fact", title=title, field=field, value=value)

        nothing_more = prompts.render("nothing_more") if "nothing_more" in prompts.names() else None
        def yes_no_message(verdict: str) -> str:
            return prompts.render("yes_no", verdict=verdict)

        return ExtractiveAnswerer(abstain_message=prompts.render("abstain"),
                                  config=ExtractiveConfig(max_sentences=settings.max_answer_sentences),
                                  article_fact_message=article_fact_message, nothing_more_message=nothing_more,
                                  yes_no_message=yes_no_message if "yes_no" in prompts.names() else None)
    raise UsageError(f"Unknown answerer {settings.answerer!r} ({settings.named('answerer')}). Available: extractive "
                     f"(generative answerers are planned, not built); {settings.leave_out('answerer')}.")


class AnswerChain(Runnable[Any, Answer]):
    """The pipeline as an LCEL Runnable. Input: a question string, or {"question", "history", "k", "filters"}."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @staticmethod
    def _arguments(value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            return {"question": value}
        if isinstance(value, Mapping) and "question" in value:
            return {key: value[key] for key in ("question", "history", "k", "filters") if key in value}
        raise UsageError("AnswerChain takes a question string or a mapping with a 'question' key.")

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        arguments = self._arguments(input)
        return self._call_with_config(lambda value: self.pipeline.ask(**arguments), input, config)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        arguments = self._arguments(input)
        yield from self.pipeline.stream(**arguments)
