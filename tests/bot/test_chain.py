"""The pipeline (condense -> retrieve -> answer) and its LCEL face, `AnswerChain`.

Unit tests wire the real answerer, condenser and prompts around a fake retriever that returns one hand-made passage;
integration tests use `build_pipeline` over the real seeds index.
"""
from __future__ import annotations

import asyncio
import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.answerers import ExtractiveAnswerer
from bot.chain import AnswerChain, Pipeline
from bot.condense import HeuristicCondenser
from bot.errors import UsageError
from bot.prompts import PromptLibrary
from bot.retrieval import SearchFilters
from bot.schema import Answer, AnswerDelta, Passage
from tests.bot.conftest import OFF_TOPIC_QUESTION, SUTONG_FOLLOW_UP, SUTONG_QUESTION, FakeIdf, make_passage

PROMPTS = PromptLibrary()
ABSTAIN = PROMPTS.render("abstain")
EMPTY = "Please type a question (it was empty)."
BRIDGE = ("The Sutong Bridge opened to traffic on June 30, 2008. In recent years, the daily traffic volume has "
          "exceeded 90,000 vehicles.")
MULTI = "000_f5096a39126c624c.txt"
SINGLE = "003_ea7677fb405ea616.txt"


class FakeEmbedder:
    """Reads 12 word pieces; a word is one piece."""

    max_wordpieces = 12

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def count_wordpieces(self, text: str) -> int:
        return len(text.split())

    def encode_query(self, text: str) -> np.ndarray:
        self.encoded.append(text)
        return np.ones(4, dtype=np.float32) / 2


class FakeRetriever:
    """One passage about the Sutong Bridge for any query; remembers its calls."""

    def __init__(self) -> None:
        self.embedder = FakeEmbedder()
        self.bm25 = FakeIdf()
        self.calls: list[dict[str, Any]] = []

    def retrieve(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
                 query_vector: np.ndarray | None = None) -> list[Passage]:
        self.calls.append({"query": query, "k": k, "filters": filters, "query_vector": query_vector})
        return [make_passage(BRIDGE, title="")]

    def any_match(self, filters: SearchFilters) -> bool:
        return True

    def article_of(self, passage: Passage) -> list[Passage]:
        return [passage]

    def warm_up(self) -> None:
        pass


@pytest.fixture
def retriever() -> FakeRetriever:
    return FakeRetriever()


@pytest.fixture
def pipeline(retriever: FakeRetriever) -> Pipeline:
    return Pipeline(retriever=retriever, answerer=ExtractiveAnswerer(abstain_message=ABSTAIN),  # type: ignore[arg-type]
                    condenser=HeuristicCondenser(), prompts=PROMPTS, max_question_chars=80)


def split_stream(items: Iterator[AnswerDelta | Answer]) -> tuple[list[AnswerDelta], Answer]:
    items = list(items)
    assert items and isinstance(items[-1], Answer)
    assert all(isinstance(item, AnswerDelta) for item in items[:-1])
    return items[:-1], items[-1]  # type: ignore[return-value]


# --- unit: the pipeline with a fake retriever ----------------------------------------------------------------


def test_ask_answers_with_a_citation_and_timings(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    answer = pipeline.ask(f"  {SUTONG_QUESTION}  ")
    assert answer.question == SUTONG_QUESTION
    assert answer.answer == "The Sutong Bridge opened to traffic on June 30, 2008. [1]"
    assert not answer.abstained and len(answer.citations) == 1
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}
    assert answer.timings_ms["total"] >= answer.timings_ms["retrieve"] >= 0
    assert answer.standalone_question == SUTONG_QUESTION and len(answer.passages) == 1
    # One encoding of the question, shared by retrieval and the answerer.
    assert retriever.embedder.encoded == [SUTONG_QUESTION]
    [call] = retriever.calls
    assert (call["query"], call["k"], call["filters"]) == (SUTONG_QUESTION, None, None)
    assert call["query_vector"] is not None


def test_to_dict_is_the_public_shape(pipeline: Pipeline) -> None:
    data = pipeline.ask(SUTONG_QUESTION).to_dict()
    assert set(data) == {"question", "answer", "abstained", "small_talk", "no_filter_match", "citations",
                         "timings_ms"}
    assert set(data["citations"][0]) == {"n", "title", "published", "source", "chunk_id", "text", "quote", "score",
                                         "quote_start", "quote_end"}


def test_a_follow_up_is_retrieved_as_its_standalone_question(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    answer = pipeline.ask(SUTONG_FOLLOW_UP, history=[{"role": "user", "content": SUTONG_QUESTION},
                                                     {"role": "assistant", "content": "June 30, 2008 [1]"}])
    assert answer.question == SUTONG_FOLLOW_UP
    assert "Sutong Bridge" in answer.standalone_question
    assert retriever.calls[0]["query"] == answer.standalone_question
    assert retriever.embedder.encoded == [answer.standalone_question]
    assert "90,000 vehicles" in answer.answer


def test_a_question_naming_its_subject_is_tried_as_it_stands_when_the_follow_up_reading_finds_nothing(
        pipeline: Pipeline, retriever: FakeRetriever) -> None:
    history = ["What do people call Huangyan?"]
    question = "Sutong Bridge - when did it open to traffic?"
    answer = pipeline.ask(question, history=history)
    assert [call["query"] for call in retriever.calls] == [f"{question} (Huangyan; people call)", question]
    assert answer.standalone_question == question and "June 30, 2008" in answer.answer
    # A follow-up that names nothing of its own is not tried alone: "it" is the conversation's.
    retriever.calls.clear()
    assert pipeline.ask("When did it open to traffic?", history=history).abstained
    assert len(retriever.calls) == 1


@pytest.mark.parametrize(("message", "reply"), [
    ("hello", "Hello! Ask me a question"),
    ("Hi there!", "Hello! Ask me a question"),
    ("Good morning", "Hello! Ask me a question"),
    ("thanks!", "You're welcome."),
    ("Thank you so much.", "You're welcome."),
    ("ok, thanks", "You're welcome."),
    ("Thank you for your help", "You're welcome."),
    ("hi, thanks", "You're welcome."),
    ("thanks, bye", "Goodbye!"),
    ("bye", "Goodbye!"),
])
def test_a_greeting_thanks_or_goodbye_gets_a_reply_and_searches_nothing(
        pipeline: Pipeline, retriever: FakeRetriever, message: str, reply: str) -> None:
    answer = pipeline.ask(message, history=[SUTONG_QUESTION])
    assert answer.answer.startswith(reply)
    # Nothing from the articles is claimed.
    assert answer.small_talk and answer.abstained and answer.citations == [] and answer.passages == []
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}
    assert retriever.calls == [] and retriever.embedder.encoded == []


class NoIndex:
    """A retriever on a server with no index yet: opening it fails."""

    @property
    def bm25(self) -> Any:
        raise AssertionError("the index was opened")

    @property
    def embedder(self) -> Any:
        raise AssertionError("the model was loaded")


def test_small_talk_needs_no_index() -> None:
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN)
    pipeline = Pipeline(retriever=NoIndex(), answerer=answerer, condenser=HeuristicCondenser(),  # type: ignore[arg-type]
                        prompts=PROMPTS)
    assert pipeline.ask("hi").small_talk


def test_advice_or_an_opinion_is_declined_saying_why_and_searches_nothing(pipeline: Pipeline,
                                                                          retriever: FakeRetriever) -> None:
    answer = pipeline.ask("Should I visit the Sutong Bridge?")
    assert answer.abstained and not answer.citations and answer.answer == PROMPTS.render("opinion")
    assert "not give advice" in answer.answer and not retriever.calls and not answer.small_talk


def test_a_greeting_that_goes_on_to_ask_is_a_question(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    answer = pipeline.ask("hello, when did the Sutong Bridge open to traffic?")
    assert "June 30, 2008" in answer.answer and len(retriever.calls) == 1


def test_without_a_small_talk_template_a_greeting_is_searched_for(retriever: FakeRetriever, tmp_path: Path) -> None:
    # A custom prompts folder from before the template existed.
    (tmp_path / "abstain.txt").write_text(ABSTAIN, encoding="utf-8")
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN)
    pipeline = Pipeline(retriever=retriever, answerer=answerer,  # type: ignore[arg-type]
                        condenser=HeuristicCondenser(), prompts=PromptLibrary(tmp_path))
    assert pipeline.ask("hello").answer == ABSTAIN and len(retriever.calls) == 1


def test_k_and_filters_reach_the_retriever(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    pipeline.ask(SUTONG_QUESTION, k=3, filters={"source": "000", "published_to": "2024-12-31"})
    assert retriever.calls[0]["k"] == 3
    assert retriever.calls[0]["filters"] == SearchFilters(source="000", published_to="2024-12-31")


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_questions(pipeline: Pipeline, retriever: FakeRetriever, question: str) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.ask(question)
    assert str(caught.value) == EMPTY
    assert retriever.calls == []


def test_too_long_question(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.ask("x" * 81)
    assert str(caught.value) == "Your question is 81 characters long; the limit is 80. Please shorten it."
    assert pipeline.ask("x" * 75 + "?     ").question == "x" * 75 + "?"  # measured after trimming
    assert len(retriever.calls) == 1


def test_a_question_longer_than_the_model_reads(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    # 14 words = 14 pieces > 12: the model would silently read only the first 12.
    with pytest.raises(UsageError) as caught:
        pipeline.ask("When did the new Sutong Bridge over the wide Yangtze River open to traffic?")
    # In plain words: 14 pieces where 12 are read: 2/14 must go, 14%, rounded up to a multiple of 5.
    assert str(caught.value) == ("Your question has more words than the search can read at once. Please make it "
                                 "about 15% shorter.")
    assert retriever.calls == []
    # Exactly 12 pieces is read whole.
    pipeline.ask("So, when exactly did the Sutong Bridge first open to public traffic?")
    assert len(retriever.calls) == 1


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_1(pipeline: Pipeline, retriever: FakeRetriever, k: int) -> None:
    with pytest.raises(UsageError, match=rf"k must be greater than 0. Currently, k is {k}"):
        pipeline.ask(SUTONG_QUESTION, k=k)
    assert retriever.calls == []


def test_bad_filters_fail_before_retrieval(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    with pytest.raises(UsageError, match="published_from"):
        pipeline.ask(SUTONG_QUESTION, filters={"published_from": "May 2024"})
    with pytest.raises(UsageError, match="'colour'"):
        pipeline.ask(SUTONG_QUESTION, filters={"colour": "red"})
    assert retriever.calls == []


def test_abstains_with_the_prompts_message(pipeline: Pipeline) -> None:
    answer = pipeline.ask(OFF_TOPIC_QUESTION)
    assert answer.abstained and answer.answer == ABSTAIN and answer.citations == []


@pytest.mark.parametrize("question", [SUTONG_QUESTION, OFF_TOPIC_QUESTION])
def test_stream_pieces_add_up_to_the_answer(pipeline: Pipeline, question: str) -> None:
    deltas, answer = split_stream(pipeline.stream(question))
    assert len(deltas) > 3
    assert "".join(d.text for d in deltas) == answer.answer
    again = pipeline.ask(question)
    assert (answer.answer, answer.abstained, answer.citations) == (again.answer, again.abstained, again.citations)


def test_stream_raises_usage_errors_before_any_piece(pipeline: Pipeline) -> None:
    with pytest.raises(UsageError):
        next(pipeline.stream(" "))


def test_answer_chain_with_a_fake_retriever(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    chain = AnswerChain(pipeline)
    assert chain.invoke(SUTONG_QUESTION).answer.startswith("The Sutong Bridge opened")
    follow = chain.invoke({"question": SUTONG_FOLLOW_UP, "history": [SUTONG_QUESTION], "k": 2,
                           "filters": {"source": "000"}, "ignored": True})
    assert "90,000" in follow.answer
    assert (retriever.calls[-1]["k"], retriever.calls[-1]["filters"]) == (2, SearchFilters(source="000"))
    with pytest.raises(UsageError, match="question"):
        chain.invoke({"q": SUTONG_QUESTION})
    with pytest.raises(UsageError, match="question"):
        chain.invoke(42)


def test_answer_chain_async_and_batch_errors(pipeline: Pipeline) -> None:
    chain = AnswerChain(pipeline)
    answer = asyncio.run(chain.ainvoke(SUTONG_QUESTION))
    assert answer.answer.startswith("The Sutong Bridge opened")
    good, bad = chain.batch([SUTONG_QUESTION, "  "], return_exceptions=True)
    assert isinstance(good, Answer) and isinstance(bad, UsageError) and str(bad) == EMPTY


# --- integration: the real pipeline over seeds/ ----------------------------------------------------------------

def test_joined_drafts_number_their_citations_on_and_say_a_quote_once() -> None:
    from bot.answerers import Draft
    from bot.chain import joined_drafts
    from bot.schema import Citation

    def cite(n: int, quote: str) -> Citation:
        return Citation(n=n, title="T", published=None, source="s", chunk_id="c", text=quote, quote=quote, score=1.0)

    first = Draft("A. [1] B. [2]", False, [cite(1, "A."), cite(2, "B.")])
    second = Draft("C. [1] B. [2]", False, [cite(1, "C."), cite(2, "B.")])
    again = Draft("B. [1]", False, [cite(1, "B.")])
    held = Draft("A. [1]", False, [cite(1, "A.")])  # quoted before within "A. B." (see below)
    joined = joined_drafts([first, second, again], ["Not D."])
    assert joined.text == "A. [1] B. [2]\n\nC. [3] B. [2]\n\nNot D."
    assert [(c.n, c.quote) for c in joined.citations] == [(1, "A."), (2, "B."), (3, "C.")]
    assert not joined.abstained and joined_drafts([], ["Not D."]).abstained
    both = joined_drafts([Draft("A. B. [1]", False, [cite(1, "A. B.")]), held])
    assert both.text == "A. B. [1]" and len(both.citations) == 1


pipeline_marks = pytest.mark.integration


@pipeline_marks
def test_sutong_question_cites_the_opening_date(seeds_pipeline: Pipeline) -> None:
    answer = seeds_pipeline.ask(SUTONG_QUESTION)
    assert not answer.abstained
    assert "June 30, 2008" in answer.answer and answer.answer.endswith("[1]")
    [citation] = answer.citations
    assert citation.n == 1 and citation.source == MULTI and citation.published == "2024-05-14"
    assert "June 30, 2008" in citation.quote
    assert citation.text[citation.quote_start:citation.quote_end] == citation.quote
    assert citation.chunk_id == answer.passages[0].chunk_id
    assert all(value > 0 for value in answer.timings_ms.values())


@pipeline_marks
@pytest.mark.parametrize("history", [[SUTONG_QUESTION],
                                     [{"role": "user", "content": SUTONG_QUESTION},
                                      {"role": "assistant", "content": "On June 30, 2008 [1]"}]])
def test_follow_up_answers_with_the_daily_traffic(seeds_pipeline: Pipeline, history: list) -> None:
    answer = seeds_pipeline.ask(SUTONG_FOLLOW_UP, history=history)
    assert not answer.abstained
    assert "90,000" in answer.answer
    assert "Sutong" in answer.standalone_question
    citation = answer.citations[0]
    assert "90,000" in citation.quote and citation.text[citation.quote_start:citation.quote_end] == citation.quote


@pipeline_marks
def test_a_new_question_in_a_conversation_is_not_taken_for_a_follow_up(seeds_pipeline: Pipeline) -> None:
    """Asked in the browser after a question about Wuhu, "its" had pulled Wuhu in and the bot declined."""
    wuhu = "On what exact date did the 2019 Yangtze River Delta leaders symposium in Wuhu take place?"
    question = "Where did Suzhou Canny post its R&D demand when developing the elevators?"
    history = [{"role": "user", "content": wuhu}, {"role": "assistant", "content": seeds_pipeline.ask(wuhu).answer}]
    answer = seeds_pipeline.ask(question, history=history)
    assert answer.standalone_question == question
    assert not answer.abstained and "sharing service platform" in answer.answer


@pipeline_marks
def test_the_subject_lasts_through_follow_ups_that_name_nothing_and_small_talk(seeds_pipeline: Pipeline) -> None:
    """The condenser read only the last two questions: by the fourth, Shibei High-tech City was lost."""
    history: list[dict[str, str]] = []
    for question in ("What is Shibei High-tech City?", "how big is it?", "thanks!", "has it won any awards?"):
        answer = seeds_pipeline.ask(question, history=history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    answer = seeds_pipeline.ask("How many companies has it attracted?", history=history)
    assert "Shibei High-tech City" in answer.standalone_question and "thanks" not in answer.standalone_question
    assert not answer.abstained and "nearly 300 companies" in answer.answer


@pipeline_marks
@pytest.mark.parametrize(("first", "follow_up"), [
    ("When did the Sutong Bridge open?", "What is the weather tomorrow?"),
    ("When did the Sutong Bridge open?", "banana"),
    ("When did the Sutong Bridge open?", "Is it safe?"),
    ("What is Shibei High-tech City?", "Tell me a joke"),
])
def test_a_follow_up_about_something_else_is_not_answered_with_the_subject(seeds_pipeline: Pipeline, first: str,
                                                                           follow_up: str) -> None:
    """Each quoted the bridge (or the city) with a citation: the subject carried over covered the question."""
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": seeds_pipeline.ask(first).answer}]
    answer = seeds_pipeline.ask(follow_up, history=history)
    assert answer.abstained and not answer.citations


@pipeline_marks
def test_a_question_about_something_new_after_the_bridge_is_not_answered_with_the_bridge(
        seeds_pipeline: Pipeline) -> None:
    """"What do you know about baijiu?" has too few words of its own, so it was read as a follow-up; a baijiu
    sentence then kept the off-topic rule from firing and the bridge was quoted."""
    history = [{"role": "user", "content": "When did the Sutong Bridge open?"}]
    answer = seeds_pipeline.ask("What do you know about baijiu?", history=history)
    assert "Sutong" not in answer.answer


@pipeline_marks
def test_a_paraphrased_follow_up_still_reads_close_enough_to_answer(seeds_pipeline: Pipeline) -> None:
    """No sentence holds "turned" or "decade", but one reads close to the follow-up's own words ("After more than ten
    years of development, it has become ..."), so it is not taken for a question about something else. (Which
    sentence answers is the dev set's h-followup-shibei-now.)"""
    history = [{"role": "user", "content": "What is Shibei High-tech City?"}]
    answer = seeds_pipeline.ask("What has it turned into after more than a decade?", history=history)
    assert not answer.abstained and "Shibei" in answer.answer


@pipeline_marks
def test_an_overview_request_gets_several_cited_facts(seeds_pipeline: Pipeline) -> None:
    """"Give me three facts about Jiaxing" searched for "give", "three" and "facts" and quoted a sentence the article
    breaks off ("By 2006, Jiaxing had combined with the local …")."""
    answer = seeds_pipeline.ask("Give me three facts about Jiaxing")
    assert not answer.abstained and "By 2006" not in answer.answer
    quoted = [sentence for c in answer.citations for sentence in re.split(r"(?<=[.!?])\s+", c.quote)]
    assert len(quoted) >= 2 and all("Jiaxing" in c.title for c in answer.citations)
    bridge = seeds_pipeline.ask("Tell me about the Sutong Bridge")
    assert "June 30, 2008" in bridge.answer and "90,000 vehicles" in bridge.answer


@pipeline_marks
def test_a_three_turn_conversation_follows_the_person_the_bot_introduced(seeds_pipeline: Pipeline) -> None:
    history: list[dict[str, str]] = []
    for question in ("What is Ningxi Zao Shao?", "Who is it related to?", "Where did he come from?"):
        answer = seeds_pipeline.ask(question, history=history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    assert "Wang Congde" in answer.standalone_question and "Zao Shao" not in answer.standalone_question
    assert not answer.abstained and "from Hangzhou" in answer.answer


@pipeline_marks
def test_a_follow_up_can_lean_on_the_bots_answer(seeds_pipeline: Pipeline) -> None:
    """"his city" is in the answer to "Who is Xu Xiaoyu?", not in the question: the chat's history carries it."""
    first = seeds_pipeline.ask("Who is Xu Xiaoyu?")
    assert "Jingjiang City" in first.answer
    history = [{"role": "user", "content": "Who is Xu Xiaoyu?"}, {"role": "assistant", "content": first.answer}]
    answer = seeds_pipeline.ask("Which industrial park is his city best known for?", history=history)
    assert "Jingjiang City" in answer.standalone_question
    assert not answer.abstained and "Jiangyin-Jingjiang Industrial Park" in answer.answer
    assert any("Jiangyin-Jingjiang Industrial Park" in c.quote for c in answer.citations)
    # Without the bot's answer, "Xu" alone picked the deputy mayor Xu Hong's park.
    assert "Xu Hong" not in answer.answer
    # The quote the bot gave last time is not given again beside the new one.
    assert "director of Jingjiang City, said" not in answer.answer and len(answer.citations) == 1


def _conversation(pipeline: Pipeline, *questions: str) -> list[dict[str, str]]:
    """The history of a chat that asked these questions in turn."""
    history: list[dict[str, str]] = []
    for question in questions:
        reply = pipeline.ask(question, history=history).answer
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
    return history


@pipeline_marks
def test_a_follow_up_goes_back_to_an_earlier_subject_it_points_at(seeds_pipeline: Pipeline) -> None:
    """Declined: the question was read as about the last turn's subject."""
    history = _conversation(seeds_pipeline, "How many passengers did Jiangsu's transport carry from January to "
                                            "October?", "Who is Xu Hong?")
    answer = seeds_pipeline.ask("what was the year-on-year increase in those passengers?", history=history)
    assert not answer.abstained and "529%" in answer.citations[0].quote


@pipeline_marks
def test_a_lead_up_in_a_conversation_leaves_the_conversation_as_it_was(seeds_pipeline: Pipeline) -> None:
    """"Oh nice, I had never heard of it." was read as the last turn, and "Which districts built it?" lost the high-tech
    city the answer before had named; a question read out of a message that finds nothing is asked as written."""
    history = _conversation(seeds_pipeline, "Give me an example of a high-tech city.")
    answer = seeds_pipeline.ask("Oh nice, I had never heard of it. Which districts built it?", history=history)
    assert not answer.abstained and "Jing'an District" in answer.citations[0].quote
    written = seeds_pipeline.ask("Please tell me who Meng Qingdong of Canny Elevator is?")
    assert not written.abstained and "Meng Qingdong, chief engineer" in written.citations[0].quote


@pipeline_marks
def test_a_yes_no_follow_up_about_a_post_is_answered_by_the_title_just_quoted(seeds_pipeline: Pipeline) -> None:
    """"is he also the mayor?" after "Who is Xu Hong?" was declined: "mayor" is only in "deputy mayor", so no
    sentence held the follow-up's own words, and the question looked like one about something else."""
    history = _conversation(seeds_pipeline, "Who is Xu Hong?")
    answer = seeds_pipeline.ask("is he also the mayor?", history=history)
    assert not answer.abstained and "Xu Hong, deputy mayor of Huai'an City" in answer.citations[0].quote


@pipeline_marks
def test_what_happened_on_a_day_is_what_its_answer_named(seeds_pipeline: Pipeline) -> None:
    """"Which company was involved?" after "What happened on November 17?" was declined: the question named only the
    day, and "the company" of Canny's chief engineer (another article's) held the follow-up's own word."""
    history = _conversation(seeds_pipeline, "What happened on November 17?")
    answer = seeds_pipeline.ask("Which company was involved?", history=history)
    assert "CNBM Yixing New Energy" in answer.standalone_question
    assert not answer.abstained and "CNBM Yixing New Energy" in answer.citations[0].quote


@pipeline_marks
def test_a_follow_up_is_answered_on_its_subject_though_another_sentence_holds_its_words(
        seeds_pipeline: Pipeline) -> None:
    """"and how many people work there?" four turns into Shibei High-tech City was declined: sentences elsewhere
    hold "people" and "work", though none names Shibei."""
    history = _conversation(seeds_pipeline, "What is Shibei High-tech City?", "Who built it?",
                            "How long have they been developing it?")
    answer = seeds_pipeline.ask("and how many people work there?", history=history)
    assert not answer.abstained and "tens of thousands of talents" in answer.citations[0].quote


@pipeline_marks
@pytest.mark.parametrize(("message", "quoted"), [
    ("Would you mind telling me who Meng Qingdong is?", "Meng Qingdong, chief engineer of the company"),
    ("Honestly I don't follow politics much but my dad does, and he mentioned Wu Xinming and a meeting in Nanjing "
     "where he gave a speech, and I wondered: when did Wu move to Nantong in the first place?", "September 2021"),
    ("I was reading about all these plans and honestly it's a lot to keep track of, and my cousin lives in Nantong "
     "and goes to Shanghai sometimes, so what I really want to know is how long the trip to Shanghai will take once "
     "the new high-speed railway is running?", "about 40 minutes"),
])
def test_the_question_a_message_asks_after_its_lead_up_and_wrapper(seeds_pipeline: Pipeline, message: str,
                                                                    quoted: str) -> None:
    """All three were declined: the wrapper's and the lead-up's words counted against every sentence."""
    answer = seeds_pipeline.ask(message)
    assert not answer.abstained and quoted in answer.citations[0].quote
    assert answer.question == message  # the reader's own words, as asked


@pipeline_marks
def test_a_span_of_months_reads_as_the_article_writes_it(seeds_pipeline: Pipeline) -> None:
    """"Jan-Oct" was one word, "janoct", that no passage holds: the question looked unanswered and was declined."""
    answer = seeds_pipeline.ask("How many passengers did Jiangsu carry Jan-Oct?")
    assert not answer.abstained and "600 million passengers" in answer.answer
    assert "From January to October" in answer.citations[0].quote


@pipeline_marks
@pytest.mark.parametrize(("question", "quoted"), [
    # A date for another event: the plans' 2024, the elevators' June.
    ("When was the Fifth Plenary Session of the 14th Provincial Party Committee held?", None),
    ("When did Suzhou Metro Line 11 open?", None),
    # Where he worked is not where he was born.
    ("Where was Wu Xinming born?", None),
    ("Where was the 2019 Yangtze River Delta Regional Leaders Symposium held?", "was held in Wuhu"),
    # "about to start construction" says when it starts, not when it will be finished.
    ("When does construction of the Su-Tong second passage start?", "about to start construction"),
    ("When will the Su-Tong second passage be finished?", None),
    ("When was the Kunshan action plan released?", "On November 8th last year, Kunshan released"),
    # A figure for another partner.
    ("How many cooperation parks has Nantong built with Anhui?", None),
    ("What percentage of Nantong's farm products go to Suzhou?", None),
    ("What percentage of Nantong's farm products go to Shanghai?", "40% of Nantong's agricultural and sideline"),
    # A title of another body: Lin Zhengguo is Wangji Town's secretary (in Siyang County).
    ("Who is the party secretary of Siyang County?", None),
    ("Who is the party secretary of Wangji Town?", "Lin Zhengguo"),
    ("Who is the chief engineer of Suzhou Canny?", "Meng Qingdong"),  # "chief engineer of the company"
    # ... the company the sentence before names first: the elevators' maker, not the line they went into use on.
    ("Who is the chief engineer of Canny?", "Meng Qingdong"),
    ("Who is the chief engineer of Suzhou Metro?", None),
])
def test_a_fact_of_another_event_partner_or_body_is_no_answer(seeds_pipeline: Pipeline, question: str,
                                                              quoted: str | None) -> None:
    """Each was answered with a date, figure or person the sentence gives for something else: the session's "In 2024,
    how to closely follow the deployment of the Plenary Session", the June the elevators went into use on Line 11,
    the 19 parks built with Shanghai and southern Jiangsu, the 40% of farm products going to Shanghai, Wangji Town's
    secretary, Canny's chief engineer for Suzhou Metro's."""
    answer = seeds_pipeline.ask(question)
    assert answer.abstained is (quoted is None)
    if quoted:
        assert quoted in answer.citations[0].quote


@pipeline_marks
@pytest.mark.parametrize(("question", "quoted"), [
    ("Is Wu Xinming the mayor of Nantong?", "Wu Xinming, secretary of the Nantong Municipal Party Committee"),
    ("Is Meng Qingdong the director of Canny?", "Meng Qingdong, chief engineer of the company"),
    ("Is Shibei High-tech City bigger than 10 square kilometres?", "only 5.2 square kilometers"),
    # A figure the question checks, a post given only by the line naming who spoke, a side the question has wrong
    # (a sentence saying nothing to yes or no scored higher and made these look off the point).
    ("Does the Sutong Bridge carry 200,000 vehicles a day?", "exceeded 90,000 vehicles"),
    ("Is Xu Xiaoyu the mayor of Jingjiang?", "Xu Xiaoyu, director of Jingjiang City"),
    ("Is Nantong south of the Yangtze?", "north"),
])
def test_a_yes_no_question_is_answered_by_the_sentence_saying_no(seeds_pipeline: Pipeline, question: str,
                                                                 quoted: str) -> None:
    """Each was declined: the post, the figure or the spelling of the unit asked about is not in the sentence.
    The first then quoted "General Secretary Xi Jinping" when posts first counted, the second Canny's elevators."""
    answer = seeds_pipeline.ask(question)
    assert not answer.abstained and quoted in answer.citations[0].quote


@pipeline_marks
def test_a_question_typed_in_lower_case_and_its_follow_up(seeds_pipeline: Pipeline) -> None:
    """The model reads "xi" as no name: the sentence holding every word of the question read too far from it, and
    both were declined. "emphasize" and "emphasized" were two terms."""
    first = seeds_pipeline.ask("what did xi say in november")
    assert not first.abstained and "Xi Jinping emphasized" in first.citations[0].quote
    history = [{"role": "user", "content": "what did xi say in november"},
               {"role": "assistant", "content": first.answer}]
    again = seeds_pipeline.ask("what did he emphasize", history=history)
    assert not again.abstained and "Xi Jinping emphasized" in again.citations[0].quote


@pipeline_marks
@pytest.mark.parametrize(("question", "quoted"), [
    # An acronym typed in lower case: the model reads it as no word, the sentence writes it in capitals.
    ("what does vep stand for", "(VEP)"),
    ("what does gep stand for", "(GEP)"),
    # Someone's post, asked without "who".
    ("What position does Wu Xinming hold?", "Wu Xinming, secretary of the Nantong Municipal Party Committee"),
    ("What is Wu Xinming's title?", "Wu Xinming, secretary of the Nantong Municipal Party Committee"),
    # A year the question names is the sentence's; a yes-no question is answered by the year it got wrong.
    ("Was the Sutong Bridge opened in 2010?", "On June 30, 2008, the Sutong Bridge"),
])
def test_acronyms_posts_and_years_asked_as_users_ask_them(seeds_pipeline: Pipeline, question: str,
                                                          quoted: str) -> None:
    """The acronyms were declined; the posts got the plenary meeting, the Two Sessions or his leaving Suzhou."""
    answer = seeds_pipeline.ask(question)
    assert not answer.abstained and quoted in answer.citations[0].quote


@pipeline_marks
@pytest.mark.parametrize("question", [
    "What is Huangyan's forest coverage rate?",  # "Huangyan with high forest coverage" gives no rate
    "How much is CNBM Yixing New Energy investing in the zero-carbon factory?",  # the signing gives no sum
    "What did Jiaxing do with the festivals in 2010?",  # only 1997 and 2006 are told
])
def test_a_figure_or_year_the_articles_do_not_give_is_declined(seeds_pipeline: Pipeline, question: str) -> None:
    """Each quoted a sentence on the subject without the figure asked for, or of another year."""
    assert seeds_pipeline.ask(question).abstained


@pipeline_marks
def test_what_someone_said_is_the_quote_their_name_follows(seeds_pipeline: Pipeline) -> None:
    """The quote comes before "Xu Xiaoyu, director of Jingjiang City, said.": asked alone, what he said was declined
    (the line naming him outscored it); after "who is xu xiaoyu", the sentence after that line was quoted."""
    alone = seeds_pipeline.ask("What did Xu Xiaoyu say?")
    assert not alone.abstained and alone.citations[0].quote.startswith('"In the next stage, Jingjiang City')
    assert "Suzhou Canny" not in alone.answer
    first = seeds_pipeline.ask("who is xu xiaoyu")
    history = [{"role": "user", "content": "who is xu xiaoyu"}, {"role": "assistant", "content": first.answer}]
    then = seeds_pipeline.ask("what did he say", history=history)
    assert not then.abstained and then.citations[0].quote.startswith('"In the next stage, Jingjiang City')
    assert "Suzhou Canny" not in then.answer


@pipeline_marks
def test_when_is_answered_recently_when_that_is_all_the_article_says(seeds_pipeline: Pipeline) -> None:
    """The exhibition "recently" opened: the answer was the date of the action plan released the year before."""
    answer = seeds_pipeline.ask("When did the Kunshan metaverse exhibition open?")
    assert not answer.abstained and answer.citations[0].quote.startswith("Recently, the largest metaverse")
    assert "November 8th" not in answer.answer


@pipeline_marks
def test_over_what_period_asks_for_a_time_the_figure_just_given_covers(seeds_pipeline: Pipeline) -> None:
    """"Over what period?" asked for no kind of fact, so the sentence giving the months had nothing over the others
    and the question was declined."""
    first = seeds_pipeline.ask("How many passengers did the province carry?")
    history = [{"role": "user", "content": "How many passengers did the province carry?"},
               {"role": "assistant", "content": first.answer}]
    answer = seeds_pipeline.ask("Over what period?", history=history)
    assert not answer.abstained and "From January to October this year" in answer.citations[0].quote


@pipeline_marks
@pytest.mark.parametrize("question", [OFF_TOPIC_QUESTION, "Who won the 2018 football world cup?",
                                      "What is the capital of France?"])
def test_off_topic_questions_abstain(seeds_pipeline: Pipeline, question: str) -> None:
    answer = seeds_pipeline.ask(question)
    assert answer.abstained and answer.answer == ABSTAIN and answer.citations == []
    assert answer.passages  # it did look


@pipeline_marks
def test_tell_me_more_quotes_nothing_already_said_then_says_that_is_all(seeds_pipeline: Pipeline) -> None:
    history: list[dict[str, str]] = []
    answers = []
    for question in (SUTONG_QUESTION, "How many vehicles use it every day?", "Tell me more", "Tell me more"):
        answers.append(seeds_pipeline.ask(question, history=history))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answers[-1].answer}]
    vehicles, more, again = answers[1:]
    assert "90,000 vehicles" in vehicles.answer
    # Before, the sentence after the traffic figures ("This fully reflects ...") brought them along again.
    assert not more.abstained and "90,000" not in more.answer
    assert again.abstained and again.answer.startswith("That is all the articles say about it")


@pipeline_marks
@pytest.mark.parametrize(("first", "then", "expected"), [
    ("Where was the Kunshan metaverse exhibition held?", "What was released at the opening ceremony?", "TOP50"),
    ("Who is Xu Xiaoyu?", "What are the four key points?", "public service urbanization"),
])
def test_a_question_that_finds_nothing_alone_is_tried_on_the_conversations_subject(
        seeds_pipeline: Pipeline, first: str, then: str, expected: str) -> None:
    assert seeds_pipeline.ask(then).abstained  # alone, it names too little
    earlier = seeds_pipeline.ask(first)
    answer = seeds_pipeline.ask(then, history=[{"role": "user", "content": first},
                                               {"role": "assistant", "content": earlier.answer}])
    assert not answer.abstained and expected in answer.answer


@pipeline_marks
def test_a_follow_up_gets_a_new_sentence_rather_than_the_quote_already_given(seeds_pipeline: Pipeline) -> None:
    # The best sentence is the quote already given ("Xu Xiaoyu, director of Jingjiang City, said."): a new one holding
    # more of the follow-up's words answers instead.
    first = seeds_pipeline.ask("Who is Xu Xiaoyu?")
    assert first.answer.startswith("Xu Xiaoyu, director of Jingjiang City, said.")
    answer = seeds_pipeline.ask("What does his city want to build?", history=[
        {"role": "user", "content": "Who is Xu Xiaoyu?"}, {"role": "assistant", "content": first.answer}])
    assert "experimental area" in answer.answer and not answer.answer.startswith("Xu Xiaoyu")


@pipeline_marks
def test_why_does_that_matter_after_the_figures_quotes_the_sentence_that_says_why(seeds_pipeline: Pipeline) -> None:
    history: list[dict[str, str]] = []
    for question in (SUTONG_QUESTION, "How many vehicles use it every day?", "and on holidays?"):
        answer = seeds_pipeline.ask(question, history=history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    why = seeds_pipeline.ask("why does that matter?", history=history)
    # Before, declined: its only answer was the traffic figures, quoted twice already.
    assert not why.abstained and why.answer.startswith("This fully reflects") and "90,000" not in why.answer


@pipeline_marks
def test_what_articles_do_you_have_lists_them_newest_first(seeds_pipeline: Pipeline) -> None:
    answer = seeds_pipeline.ask("What articles do you have?")
    assert answer.small_talk and answer.citations == [] and answer.passages == []
    lines = answer.answer.splitlines()
    assert lines[0] == "I have 7 articles, newest first:"
    assert lines[2].startswith("- Why does Nantong frequently mention") and lines[2].endswith("(May 14, 2024)")
    assert lines[3].endswith("(January 30, 2024)") and len([line for line in lines if line.startswith("- ")]) == 7
    # The filters choose which.
    only = seeds_pipeline.ask("What is the latest news?", filters={"source": "003"}).answer.splitlines()
    assert only[0] == "I have 1 article:" and only[2].startswith("- Promote the two strategies")
    # None passes them: said so, not "no articles are indexed".
    none = seeds_pipeline.ask("What articles do you have?", filters={"published_from": "2030-01-01"})
    assert none.no_filter_match and none.answer.startswith("No article matches your filter")


@pipeline_marks
@pytest.mark.parametrize("question", ["Which is bigger, Nantong or Kunshan?", "Is Kunshan richer than Jiangyin?",
                                      "Is the Sutong Bridge the longest bridge in the world?"])
def test_comparisons_and_claims_the_articles_never_make_abstain(seeds_pipeline: Pipeline, question: str) -> None:
    # Before, the first quoted a sentence about Kunshan's party secretary from an article about Nantong, and the last
    # the bridge's opening date.
    answer = seeds_pipeline.ask(question)
    assert answer.abstained and answer.answer == ABSTAIN and answer.citations == []


@pipeline_marks
def test_stream_over_the_index(seeds_pipeline: Pipeline) -> None:
    deltas, answer = split_stream(seeds_pipeline.stream(SUTONG_QUESTION))
    assert "".join(d.text for d in deltas) == answer.answer
    assert "June 30, 2008" in answer.answer and len(deltas) > 5


@pipeline_marks
def test_answer_chain_invoke_batch_stream(seeds_pipeline: Pipeline) -> None:
    chain = AnswerChain(seeds_pipeline)
    single = chain.invoke(SUTONG_QUESTION)
    assert isinstance(single, Answer) and "June 30, 2008" in single.answer
    first, second = chain.batch([SUTONG_QUESTION, {"question": SUTONG_FOLLOW_UP, "history": [SUTONG_QUESTION]}])
    assert first.answer == single.answer
    assert "90,000" in second.answer
    deltas, final = split_stream(chain.stream({"question": SUTONG_QUESTION, "k": 3}))
    assert "".join(d.text for d in deltas) == final.answer == single.answer
    assert len(final.passages) == 3


@pipeline_marks
@pytest.mark.parametrize(("question", "message"), [
    ("", EMPTY),
    ("   \n ", EMPTY),
    ("x" * 2001, "Your question is 2001 characters long; the limit is 2000. Please shorten it."),
])
def test_bad_questions_raise_the_prompts_messages(seeds_pipeline: Pipeline, question: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        seeds_pipeline.ask(question)
    assert str(caught.value) == message


@pipeline_marks
def test_a_question_within_2000_chars_but_beyond_the_models_word_pieces(seeds_pipeline: Pipeline) -> None:
    question = ((SUTONG_QUESTION + " ") * 50)[:2000]
    with pytest.raises(UsageError, match=r"more words than the search can read at once\. Please make it about "
                                         r"\d+% shorter\."):
        seeds_pipeline.ask(question)
    # 254 word pieces or fewer is read whole and answered.
    assert "June 30, 2008" in seeds_pipeline.ask((SUTONG_QUESTION + " ") * 2 + "Thanks!").answer


@pipeline_marks
def test_k_zero_is_a_usage_error(seeds_pipeline: Pipeline) -> None:
    with pytest.raises(UsageError, match="k must be greater than 0"):
        seeds_pipeline.ask(SUTONG_QUESTION, k=0)


@pipeline_marks
def test_two_questions_asked_together_are_each_answered(seeds_pipeline: Pipeline) -> None:
    """"When did the Sutong Bridge open and how much traffic does it carry a day?" got the date alone."""
    answer = seeds_pipeline.ask("When did the Sutong Bridge open and how much traffic does it carry a day?")
    assert "June 30, 2008" in answer.answer and "90,000 vehicles" in answer.answer
    assert [c.n for c in answer.citations] == [1, 2] and answer.answer.count("[1]") == answer.answer.count("[2]") == 1
    assert "90,000" in answer.citations[1].quote
    # A part the articles do not answer is said so, after the part they do.
    answer = seeds_pipeline.ask("When did the Sutong Bridge open and who designed it?")
    assert not answer.abstained and "June 30, 2008" in answer.answer
    assert answer.answer.endswith('The articles I have do not answer "Who designed it?"')
    # Neither: the usual decline.
    answer = seeds_pipeline.ask("Who designed the Sutong Bridge and how much did it cost?")
    assert answer.abstained and answer.answer == ABSTAIN


@pipeline_marks
def test_filters_through_ask(seeds_pipeline: Pipeline) -> None:
    answer = seeds_pipeline.ask(SUTONG_QUESTION, k=4, filters={"source": "003"})
    assert len(answer.passages) == 4 and {p.source for p in answer.passages} == {SINGLE}
    assert all(c.source == SINGLE for c in answer.citations)
    nothing = seeds_pipeline.ask(SUTONG_QUESTION, filters={"published_from": "2030-01-01"})
    assert nothing.abstained and nothing.no_filter_match and nothing.passages == [] and nothing.citations == []
    assert nothing.to_dict()["no_filter_match"] is True
    assert not answer.no_filter_match
    # Told that the filter matched nothing, not that the articles do not answer.
    assert nothing.answer == ("No article matches your filter (published from 2030-01-01), so there is nothing to "
                              "answer from. Widen the filter or remove it.")
    assert "source \"nonexistent\"" in seeds_pipeline.ask(SUTONG_QUESTION, filters={"source": "nonexistent"}).answer
    with pytest.raises(UsageError, match="published_from \\(2024-06-01\\) is after published_to"):
        seeds_pipeline.ask(SUTONG_QUESTION, filters={"published_from": "2024-06-01", "published_to": "2024-01-01"})
    with pytest.raises(UsageError, match="published_to"):
        seeds_pipeline.ask(SUTONG_QUESTION, filters={"published_to": "2024-02-30"})
    # Only YYYY-MM-DD: other ISO forms would be compared as text.
    for other in ("20240101", "2024-W01-1"):
        with pytest.raises(UsageError, match="published_from must be a date like 2024-05-14"):
            seeds_pipeline.ask(SUTONG_QUESTION, filters={"published_from": other})


ANSWERABLE = [
    "When did the Sutong Bridge open to traffic?",
    "How many vehicles cross the Sutong Bridge on holidays?",
    "Since when has Jiaxing held the South Lake Folk Culture Festival?",
    "Who is the Secretary of the Nantong Municipal Party Committee?",
    "Who is the chief engineer of Suzhou Canny?",
    "How large is Shibei High-tech City?",
    "What is the famous local wine of Ningxi called?",
    "When did Kunshan release its metaverse industry action plan?",
]


@pipeline_marks
def test_answers_are_short_quotes(seeds_pipeline: Pipeline) -> None:
    answers = [seeds_pipeline.ask(q) for q in ANSWERABLE]
    answered = [a for a in answers if not a.abstained]
    assert len(answered) >= 6, [a.question for a in answers if a.abstained]
    words = [len(a.answer.split()) for a in answered]
    assert statistics.median(words) <= 40, words
    for answer in answered:
        # One quote, or two when a second sentence scores nearly as well; each followed by its own [n].
        assert 1 <= len(answer.citations) <= 2
        for citation in answer.citations:
            assert citation.text[citation.quote_start:citation.quote_end] == citation.quote
        # (" …" marks a sentence the article itself cuts off.)
        assert " ".join(f"{' '.join(c.quote.split())} [{c.n}]" for c in answer.citations) == answer.answer.replace(
            " … [", " [")


@pytest.mark.integration
def test_unknown_answerer_is_a_usage_error(tmp_path: Any) -> None:
    from bot.chain import build_pipeline
    from bot.settings import Settings

    with pytest.raises(UsageError, match="'oracle'"):
        build_pipeline(Settings(data_dir=tmp_path / "data", answerer="oracle"))


@pytest.mark.integration
def test_a_missing_index_is_reported_on_first_question(tmp_path: Any, shared_embedder: Any) -> None:
    from bot.chain import build_pipeline
    from bot.errors import BotError
    from bot.settings import Settings
    from index.errors import IndexingError

    pipeline = build_pipeline(Settings(data_dir=tmp_path / "empty"), embedder=shared_embedder)
    # (The store's IndexMissingError, an IndexingError; the faces turn both families into one line.)
    with pytest.raises((BotError, IndexingError)) as caught:
        pipeline.ask(SUTONG_QUESTION)
    assert type(caught.value).__name__ == "IndexMissingError"
    assert "bot index" in str(caught.value)


@pipeline_marks
def test_articles_indexed_by_another_process_are_answered_without_a_restart(
        tmp_path: Any, shared_embedder: Any) -> None:
    """A running server (here: a pipeline in this process) answers from articles `bot index` adds meanwhile,
    and stops answering from articles it removes."""
    import os
    import shutil
    import subprocess
    import sys

    from bot.chain import build_pipeline
    from bot.settings import Settings
    from tests.bot.conftest import SEEDS

    corpus = tmp_path / "news"
    corpus.mkdir()
    shutil.copy(SEEDS / "003_ea7677fb405ea616.txt", corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")} | {"HF_HUB_OFFLINE": "1"}

    def bot_index() -> None:  # another process, as a person would run it
        result = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), "index",
                                 str(corpus)], env=env, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr

    bot_index()
    pipeline = build_pipeline(Settings(data_dir=tmp_path / "data"), embedder=shared_embedder)
    pipeline.retriever.refresh_seconds = 0.0
    assert pipeline.ask(SUTONG_QUESTION).abstained
    assert pipeline.stats()["articles"] == 1

    shutil.copy(SEEDS / MULTI, corpus)
    bot_index()
    answer = pipeline.ask(SUTONG_QUESTION)
    assert not answer.abstained and "June 30, 2008" in answer.answer
    assert pipeline.stats()["articles"] == 7
    # Found by meaning too, not by keywords alone: an embedded Chroma kept the vectors it had loaded until its client
    # was opened anew, and a new article reached the answer only when its keywords outranked everything else.
    [cited] = [p for p in answer.passages if p.chunk_id == answer.citations[0].chunk_id]
    assert cited.dense_score is not None and cited.dense_score > 0.5

    (corpus / MULTI).unlink()
    bot_index()
    assert pipeline.ask(SUTONG_QUESTION).abstained and pipeline.stats()["articles"] == 1


def test_who_said_that_after_an_answer_names_nobody_for_a_report(pipeline: Pipeline, retriever: FakeRetriever) -> None:
    first = pipeline.ask(SUTONG_QUESTION)
    history = [{"role": "user", "content": SUTONG_QUESTION}, {"role": "assistant", "content": first.answer}]
    answer = pipeline.ask("Who said that?", history=history)
    assert answer.answer.startswith("Nobody is quoted saying it") and answer.answer.endswith("[1]")
    assert not answer.abstained and answer.citations[0].quote == "The Sutong Bridge opened to traffic on June 30, 2008."
    assert retriever.calls[-1]["query"] == "The Sutong Bridge opened to traffic on June 30, 2008."
    # After a decline there is nothing to attribute: the question is asked as usual.
    declined = [{"role": "user", "content": "Who won?"}, {"role": "assistant", "content": ABSTAIN}]
    assert not pipeline.ask("Who said that?", history=declined).answer.startswith("Nobody")


@pipeline_marks
@pytest.mark.parametrize(("asked", "speaker", "cited"), [
    # The sentence sits in an interview answer that opened a chunk earlier.
    (SUTONG_QUESTION, "Wu Xinming said it.", "Wu Xinming: When participating"),
    # The line after the quote names who spoke.
    ("What does Jingjiang want to build?", "Xu Xiaoyu, director of Jingjiang City, said it.",
     "Xu Xiaoyu, director of Jingjiang City, said."),
    ("Where does the Ningxi zongzi name come from?", "Local friends said it.", "Local friends said that"),
])
def test_who_said_that_names_the_speaker_of_the_last_answer(seeds_pipeline: Pipeline, asked: str, speaker: str,
                                                            cited: str) -> None:
    history = [{"role": "user", "content": asked}, {"role": "assistant", "content": seeds_pipeline.ask(asked).answer}]
    answer = seeds_pipeline.ask("who said that?", history=history)
    assert answer.answer == f"{speaker} [1]"
    [citation] = answer.citations
    assert citation.quote.startswith(cited) and citation.text[citation.quote_start:citation.quote_end] == citation.quote


@pipeline_marks
@pytest.mark.parametrize(("question", "opening"), [
    ("Was the Sutong Bridge opened in 2008?", "Yes. On June 30, 2008"),
    ("Was the Sutong Bridge opened in 2010?", "No. On June 30, 2008"),
    ("When was the Sutong Bridge opened?", "On June 30, 2008"),
    # A measure after a name is checked, not taken for part of the name: the quote gives the size.
    ("Is Shibei High-tech City 10 square kilometres?", "No. Shibei High-tech City is only 5.2"),
    # Where it was held need not be where the sentence holds it: the quote tells (no verdict on places).
    ("Was the Huangyan conference held in Beijing?", "Recently, the Taizhou Huangyan Green Industry Development"),
])
def test_a_yes_no_question_the_quote_settles_gets_yes_or_no(seeds_pipeline: Pipeline, question: str,
                                                            opening: str) -> None:
    answer = seeds_pipeline.ask(question)
    assert answer.answer.startswith(opening) and answer.citations


@pipeline_marks
@pytest.mark.parametrize(("question", "reply", "cited"), [
    ("Who said Ningxi Zai Shao is very famous?", "The person from Ningxi Town said it. [1]",
     "The person from Ningxi Town said"),
    # Words given to someone inside an interview answer are theirs, not the interviewee's.
    ("Who said that Nantong's transportation is now very convenient?", "General Secretary Xi Jinping said it. [1]",
     "Wu Xinming: When participating"),
])
def test_who_said_the_words_names_who_speaks_in_the_sentence_saying_them(seeds_pipeline: Pipeline, question: str,
                                                                         reply: str, cited: str) -> None:
    answer = seeds_pipeline.ask(question)
    assert answer.answer == reply
    [citation] = answer.citations
    assert citation.quote.startswith(cited) and citation.text[citation.quote_start:citation.quote_end] == citation.quote


@pipeline_marks
def test_who_said_that_reads_the_last_quoting_answer_past_small_talk_and_its_own_reply(
        seeds_pipeline: Pipeline) -> None:
    history: list[dict[str, str]] = []
    for question in ("What is Wangji Town's positioning?", "thanks!", "Who said that?"):
        answer = seeds_pipeline.ask(question, history=history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    assert answer.answer.startswith("Lin Zhengguo, Secretary of the Party Committee of Wangji Town")
    again = seeds_pipeline.ask("Who said that?", history=history)
    assert again.answer == answer.answer
