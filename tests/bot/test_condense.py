"""The model-free condenser: a follow-up gets the conversation's subject; a self-contained question is left alone."""
from __future__ import annotations

import pytest

from bot.condense import HeuristicCondenser, user_turns
from tests.bot.conftest import SUTONG_FOLLOW_UP, SUTONG_QUESTION

condenser = HeuristicCondenser()


def test_a_follow_up_gets_the_subject_of_the_earlier_question() -> None:
    standalone = condenser.condense(SUTONG_FOLLOW_UP, [SUTONG_QUESTION])
    assert standalone.startswith(SUTONG_FOLLOW_UP)
    assert "Sutong Bridge" in standalone
    # The question word of the earlier turn is not a name.
    assert "When" not in standalone.removeprefix(SUTONG_FOLLOW_UP)


def test_topic_words_come_along_when_the_earlier_turn_names_a_place() -> None:
    standalone = condenser.condense("How many more will be built?",
                                    ["How many river-crossing passages are there in Nantong?"])
    assert "Nantong" in standalone and "river-crossing passages" in standalone


@pytest.mark.parametrize("question", [
    SUTONG_QUESTION,
    "Which industries are growing fastest in the Yangtze River Delta region?",
])
def test_a_self_contained_question_is_untouched(question: str) -> None:
    assert not condenser.needs_context(question)
    assert condenser.condense(question, ["Who is Wu Xinming?", "What does Nantong export?"]) == question


@pytest.mark.parametrize("question", ["How many vehicles use it every day?", "What did they say?",
                                      "And there?", "How long?"])
def test_pronouns_or_too_few_own_words_need_context(question: str) -> None:
    assert condenser.needs_context(question)


def test_without_history_nothing_changes() -> None:
    assert condenser.condense(SUTONG_FOLLOW_UP, []) == SUTONG_FOLLOW_UP
    assert condenser.condense(SUTONG_FOLLOW_UP, ["   "]) == SUTONG_FOLLOW_UP


def test_role_content_turns_use_only_the_users_turns() -> None:
    history = [{"role": "user", "content": SUTONG_QUESTION},
               {"role": "assistant", "content": "On June 30, 2008, the Yangtze River Delta Nantong Expressway."}]
    standalone = condenser.condense(SUTONG_FOLLOW_UP, history)
    assert standalone == condenser.condense(SUTONG_FOLLOW_UP, [SUTONG_QUESTION])
    assert "Yangtze" not in standalone and "Expressway" not in standalone
    # An assistant turn alone gives no subject.
    assert condenser.condense(SUTONG_FOLLOW_UP, [history[1]]) == SUTONG_FOLLOW_UP


def test_the_latest_named_subject_wins() -> None:
    standalone = condenser.condense("What about its length?", ["Who is Wu Xinming?", SUTONG_QUESTION])
    assert "Sutong Bridge" in standalone and "Xinming" not in standalone


def test_only_the_last_max_turns_user_turns_count() -> None:
    one_turn = HeuristicCondenser(max_turns=1)
    history = [SUTONG_QUESTION, "what about the weather"]
    assert "Sutong" not in one_turn.condense("What about its length?", history)
    assert "Sutong" in HeuristicCondenser(max_turns=2).condense("What about its length?", history)


def test_user_turns() -> None:
    turns = ["a", " ", {"role": "assistant", "content": "b"}, {"content": "c"}, {"role": "user", "content": "d"}]
    # A mapping without a role counts as the user's; blank turns are dropped.
    assert user_turns(turns) == ["a", "c", "d"]
