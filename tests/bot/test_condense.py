"""The model-free condenser: a follow-up gets the conversation's subject; a self-contained question is left alone."""
from __future__ import annotations

import pytest

from bot.condense import (HeuristicCondenser, asks_for_opinion, asks_who_said, exchanges, said_what, main_question, names_what_it_points_at,
                          points_at_nothing, two_questions, written_out)
from bot.small_talk import asks_what_is_indexed, small_talk_kind
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
    # A possessive after a name the question gives is that name's (asked in a chat after other questions, the
    # earlier subject had been added, and the bot declined for want of it).
    "Where did Suzhou Canny post its R&D demand when developing the elevators?",
    "Did Huangyan hold its conference in Shanghai?",
    # ... and so is "him" after the person's name; "that" opening a clause, and idioms, point at nothing earlier.
    "Where had Wu Xinming just returned from when the reporter met him?",
    "Which body approved the plan that took in the three Kunshan towns?",
    "Why does Lin Zhengguo think it matters that people in Wangji can settle down?",
    "How many cars a day go over the Sutong Bridge these days?",
    "At this point, what is the estuary collaborative zone meant to serve?",
    "Who said that the bridge would open in June?",
])
def test_a_self_contained_question_is_untouched(question: str) -> None:
    assert not condenser.needs_context(question)
    assert condenser.condense(question, ["Who is Wu Xinming?", "What does Nantong export?"]) == question


@pytest.mark.parametrize("question", ["How many vehicles use it every day?", "What did they say?",
                                      "And there?", "How long?", "What is his job?",
                                      "What does Wu Xinming say about it?",  # not a possessive
                                      "In June, what did its board decide?",  # "In June" names nothing
                                      "How much was that up?", "When did that happen?", "Who said that?",
                                      "How long is that bridge?",
                                      # (found in review)
                                      "What did Wu Xinming say about him?",  # someone else: no clause between
                                      "Why did the provincial government approve that plan?",
                                      "Why did the city government reject that one?",
                                      "How long is this timeline expected to run?",
                                      "Which officials were there at the opening ceremony?",  # a place
                                      "Where can I buy its famous rice wine?",  # "I" is no name
                                      "How long is the new one?"])
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


WHO = "Who is Xu Xiaoyu?"
WHO_ANSWER = "Xu Xiaoyu, director of Jingjiang City, said. [1]"
HIS_CITY = "Which industrial park is his city best known for?"


def conversation(question: str, reply: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


def test_a_follow_up_about_him_gets_the_names_the_answer_to_who_gave() -> None:
    assert condenser.condense(HIS_CITY, conversation(WHO, WHO_ANSWER)) == f"{HIS_CITY} (Xu Xiaoyu; Jingjiang City)"
    # "Who is the secretary?" -> the answer names him; "The" does not open the name.
    standalone = condenser.condense(
        "Where did he work before?",
        conversation("Who is the Secretary of the Nantong Municipal Party Committee?",
                     "In the view of Wu Xinming, secretary of The Nantong Municipal Party Committee, [1]"))
    assert standalone.endswith("(Secretary of the Nantong Municipal Party Committee; Wu Xinming)")


@pytest.mark.parametrize(("history", "question"), [
    # The answer cites nothing: an abstention names nothing to follow up on.
    (conversation(WHO, "The articles I have do not answer that question. Try rephrasing it."), HIS_CITY),
    # The earlier question did not ask who: the answer's other names would pull the follow-up off its subject.
    (conversation(SUTONG_QUESTION, "Opened on June 30, 2008, on the Nantong Expressway. [1]"), SUTONG_FOLLOW_UP),
    # The follow-up is not about a person.
    (conversation(WHO, WHO_ANSWER), "Which industrial park is it best known for?"),
])
def test_other_answers_give_no_names(history: list[dict[str, str]], question: str) -> None:
    standalone = condenser.condense(question, history)
    assert "Jingjiang" not in standalone and "Expressway" not in standalone


def test_at_most_max_answer_names_new_names_from_an_answer() -> None:
    reply = ("Meng Qingdong, chief engineer of Suzhou Canny, said it. In June, Suzhou Metro Line 11 and "
             "Jiangsu opened. [1]")
    one = HeuristicCondenser(max_answer_names=1).condense("What did he say?", conversation(
        "Who is Meng Qingdong?", reply))
    assert one == "What did he say? (Meng Qingdong; Suzhou Canny)"
    # Names already known are not new; a lone capitalised word opening a sentence ("In") is not a name.
    two = condenser.condense("What did he say?", conversation("Who is Meng Qingdong?", reply))
    assert two == "What did he say? (Meng Qingdong; Suzhou Canny; Suzhou Metro Line)"


def test_the_latest_named_subject_wins() -> None:
    standalone = condenser.condense("What about its length?", ["Who is Wu Xinming?", SUTONG_QUESTION])
    assert "Sutong Bridge" in standalone and "Xinming" not in standalone


def test_only_the_last_max_turns_user_turns_give_topic_words() -> None:
    history = [SUTONG_QUESTION, "what about the weather"]
    one_turn = HeuristicCondenser(max_turns=1).condense("What about its length?", history)
    assert "Sutong Bridge" in one_turn and "traffic" not in one_turn
    assert "traffic" in HeuristicCondenser(max_turns=2).condense("What about its length?", history)


def test_after_a_question_that_named_nothing_it_is_what_that_answer_brought_in() -> None:
    history = conversation("How many cooperation parks has Nantong built with Shanghai?",
                           "Nantong and Shanghai have jointly built 19 cooperation parks. [1]")
    history += [{"role": "user", "content": "Give me an example."},
                {"role": "assistant",
                 "content": "For example, the Shibei High-tech City built by Jing'an District. [1]"}]
    standalone = condenser.condense("Which districts built it?", history)
    assert "Shibei High-tech City" in standalone and "Nantong" in standalone
    # "Give" is no name the answer must hold.
    assert "Give" not in standalone and "give example" in standalone
    # Only a request for an instance: "it" after "Why was it needed?" is still the subject, not a name its answer
    # gave in passing.
    why = conversation("What is the Sutong Bridge?", "The Sutong Bridge crosses the Yangtze. [1]")
    why += conversation("Why was it needed?", "The Su-Tong second passage will help too. [1]")
    assert "Su-Tong" not in condenser.condense("How many vehicles use it every day?", why)
    # A question that named its subject in lower case did not lean: its answer's names stay out.
    history[2]["content"] = "give me an example of a cooperation park in nantong"
    assert "Shibei" not in condenser.condense("Which districts built it?", history)


def test_the_named_subject_lasts_through_follow_ups_that_name_nothing() -> None:
    history = ["What is the Jiangyin-Jingjiang Industrial Park?", "How big is it?", "How many companies are in it?"]
    assert "Jiangyin-Jingjiang Industrial Park" in condenser.condense("Who runs it?", history)
    # ... as far back as max_name_turns user turns.
    assert "Jiangyin" not in HeuristicCondenser(max_name_turns=2).condense("Who runs it?", history)


def test_the_named_subject_does_not_last_past_a_question_that_stood_alone() -> None:
    history = ["When did the Sutong Bridge open?", "how many passengers did the railways carry last year?",
               "what was the growth?"]
    assert "Sutong" not in condenser.condense("Why did it grow so fast?", history)


def test_further_back_he_is_still_the_person_the_answer_to_who_gave() -> None:
    history = [{"role": "user", "content": "When did the Sutong Bridge open?"},
               {"role": "assistant", "content": "On June 30, 2008. [1]"},
               {"role": "user", "content": "Who is the party secretary?"},
               {"role": "assistant", "content": "Wu Xinming, secretary of the Nantong Municipal Party Committee. [1]"},
               {"role": "user", "content": "what did he say?"}, {"role": "assistant", "content": "x [1]"},
               {"role": "user", "content": "when?"}, {"role": "assistant", "content": "y [1]"}]
    standalone = condenser.condense("Where did he work before?", history)
    assert "Wu Xinming" in standalone and "Sutong" not in standalone


@pytest.mark.parametrize("turn", ["What did I miss?", "What happened in June?"])
def test_i_and_a_month_are_no_subject(turn: str) -> None:
    history = ["What is Shibei High-tech City?", turn, "how big?", "how long?"]
    assert "Shibei High-tech City" in condenser.condense("who runs it?", history)
    assert "(I)" not in condenser.condense("who runs it?", ["What did I miss?"])


def test_small_talk_in_the_conversation_is_passed_over() -> None:
    history = [{"role": "user", "content": "What is Shibei High-tech City?"},
               {"role": "assistant", "content": "A science city. [1]"},
               {"role": "user", "content": "thanks!"}, {"role": "assistant", "content": "You're welcome."}]
    assert condenser.condense("how big is it?", history) == "how big is it? (Shibei High-tech City)"
    assert exchanges(history) == [("What is Shibei High-tech City?", "A science city. [1]")]


def test_a_definite_phrase_the_last_exchange_used_points_back() -> None:
    """"the action plan" stands for the plan the last answer quoted; its own three words had made the question look
    self-contained, and Nantong's "five major action plans" answered it."""
    history = [{"role": "user", "content": "Tell me about the Kunshan metaverse exhibition"},
               {"role": "assistant", "content": 'Kunshan released the "Kunshan Metaverse Industry Innovation and '
                                                'Development Action Plan" in Shanghai. [1]'}]
    assert condenser.condense("When was the action plan released?", history).startswith(
        "When was the action plan released? (Kunshan")
    # Also after another definite phrase: "the goal of the action plan".
    assert condenser.condense("What is the goal of the action plan?", history).endswith(
        "(Kunshan; metaverse exhibition)")
    # A phrase the conversation did not use, or a question giving its own name, stands alone.
    assert condenser.condense("When was the bridge opened to traffic?", history) == \
        "When was the bridge opened to traffic?"
    assert condenser.condense("When was the Nantong action plan released?", history) == \
        "When was the Nantong action plan released?"
    # The last question's words count as the answer's do.
    declined = [{"role": "user", "content": "What is the bridge toll?"},
                {"role": "assistant", "content": "The articles I have do not answer that question."}]
    assert condenser.condense("When did the bridge open?", declined).startswith("When did the bridge open? (")


@pytest.mark.parametrize("earlier", ["Describe Huangyan", "Tell me about Huangyan",
                                     "Give me three facts about Huangyan"])
def test_an_overview_requests_subject_is_its_name_not_its_verb(earlier: str) -> None:
    assert condenser.condense("What is its main industry?", [earlier]) == "What is its main industry? (Huangyan)"


def test_points_at_nothing() -> None:
    assert points_at_nothing("What do you know about baijiu?")
    assert not points_at_nothing("What is its main industry?")
    assert points_at_nothing("Is there a museum in Ningxi?")  # "there is" points at nothing


def test_user_turns_and_exchanges() -> None:
    turns = ["a", " ", {"role": "assistant", "content": "b"}, {"content": "c"}, {"role": "user", "content": "d"},
             {"role": "assistant", "content": "e"}]
    # A mapping without a role counts as the user's; blank turns are dropped.
    assert [question for question, _ in exchanges(turns)] == ["a", "c", "d"]
    assert exchanges(turns) == [("a", "b"), ("c", ""), ("d", "e")]
    # An assistant turn before any question belongs to none.
    assert exchanges([{"role": "assistant", "content": "hello"}, "q"]) == [("q", "")]


def test_he_is_the_person_the_answer_introduced_not_a_product_named_like_one() -> None:
    reply = ("Ningxi Zao Shao, in fact, has a long history and is also related to Wang Congde, the young minister of "
             "Dali Temple. [1]")
    standalone = condenser.condense("Where did he come from?", conversation("Who is it related to?", reply))
    assert "Wang Congde" in standalone and "Zao Shao" not in standalone


def test_the_subject_of_whats_is_the_name_not_the_question_word() -> None:
    standalone = condenser.condense("Why does Nantong care about it?", ["What's the Collaborative Zone?"])
    assert standalone == "Why does Nantong care about it? (Collaborative Zone)"


@pytest.mark.parametrize(("question", "leans"), [
    ("How many river-crossing passages are there in Nantong?", False),  # "there" after "are" points at nothing
    ("Is there a museum in Ningxi Town?", False),
    ("Which one is the best example?", True),  # "one" of the things just named
])
def test_existential_there_and_which_one(question: str, leans: bool) -> None:
    assert condenser.needs_context(question) is leans


@pytest.mark.parametrize(("question", "alone"), [
    ("Sutong Bridge - when did it open to traffic?", True),
    ("What did he say about Nantong?", False),  # "he" comes before the name
    ("When will it reach Nantong?", False),
    ("What is it?", False),
])
def test_a_question_can_stand_alone_when_its_pointing_words_follow_its_own_name(question: str, alone: bool) -> None:
    assert names_what_it_points_at(question) is alone


@pytest.mark.parametrize(("message", "kind"), [
    ("hello", "greeting"), ("Hey there bot", "greeting"), ("Good evening!", "greeting"),
    ("Thank you so much.", "thanks"), ("thanks for the help", "thanks"), ("hi, thanks", "thanks"),
    ("thanks, bye", "goodbye"), ("bye-bye", "goodbye"),
    # An acknowledgement alone; beside thanks, the thanks.
    ("ok", "ack"), ("Got it.", "ack"), ("okay cool", "ack"), ("ok thanks", "thanks"), ("thanks, ok", "thanks"),
    # A question, or a word that only starts like small talk, is not small talk.
    ("hello, when did the bridge open?", None), ("hi what is zongzi", None), ("thanksgiving", None),
    ("history", None), ("ok so when did it open?", None), ("hello world", None), ("", None), ("!!!", None),
    ("great wall", None), ("sure?", "ack"),
])
def test_small_talk_kind(message: str, kind: str | None) -> None:
    assert small_talk_kind(message) == kind


@pytest.mark.parametrize("message", [
    "What articles do you have?", "what can I ask you?", "How many articles do you have?", "What is the latest news?",
    "What's new?", "Show me the articles", "List all the articles.", "What are the articles about?",
    "What do the articles cover?", "What topics do you cover?", "What do you know about?",
])
def test_questions_about_the_collection_itself(message: str) -> None:
    assert asks_what_is_indexed(message)


@pytest.mark.parametrize("message", [
    "What do you know about baijiu?", "What articles mention the bridge?", "What is new in Nantong?",
    "What is the latest news about Kunshan?", "List the articles about Nantong", "What news is there about the bridge?",
    "When did the Sutong Bridge open?",
])
def test_questions_about_the_news_are_not_about_the_collection(message: str) -> None:
    assert not asks_what_is_indexed(message)


def test_tell_me_more_points_at_the_subject_it_does_not_name() -> None:
    # So the pipeline does not retry it as a question standing alone.
    assert not points_at_nothing("Tell me more") and not points_at_nothing("what else?")
    assert points_at_nothing("What do you know about baijiu?")


def test_tell_me_more_after_a_chain_about_a_person_goes_on_about_them() -> None:
    history = conversation("Who is Liu Xu?", "Liu Xu, director of the department, spoke of GEP. [1]")
    history += conversation("What did he say?",
                            "Liu Xu, director of the department, praised Suqian's GEP practices. [1]")
    history += conversation("Which city's GEP practices?", "Liu Xu, director of the department, praised Suqian. [1]")
    assert condenser.condense("tell me more", history).startswith("tell me more (Liu Xu; ")


def test_lean_reads_a_whole_looking_question_as_a_follow_up() -> None:
    history = ["Where was the Kunshan metaverse exhibition held?"]
    question = "What was released at the opening ceremony?"
    assert condenser.condense(question, history) == question  # it names enough of its own
    assert "Kunshan" in condenser.condense(question, history, lean=True)
    assert condenser.condense(question, [], lean=True) == question  # nothing to lean on


def test_he_is_the_person_named_further_back_when_the_last_turn_named_only_a_place() -> None:
    history = [*conversation("who is wu xinming", "When the reporter met Wu Xinming, secretary of the Nantong "
                             "Municipal Party Committee, he had just returned. [1]"),
               *conversation("how long was he in the Fenhu zone", "Wu Xinming: I have worked in the Fenhu High-tech "
                             "Industrial Development Zone for eight and a half years. [1]")]
    standalone = condenser.condense("what did he do in 2020?", history)
    assert standalone.startswith("what did he do in 2020? (Wu Xinming; Fenhu")
    # No person in the conversation: nothing added for "he".
    assert "Wu" not in condenser.condense("what did he do in 2020?", history[2:])


def test_he_goes_back_only_through_questions_that_leaned_on_the_one_before() -> None:
    history = [*conversation("Who is Wu Xinming?", "Wu Xinming, secretary of the Nantong Municipal Party Committee, "
                             "spoke. [1]"),
               *conversation("When did the Sutong Bridge open?", "On June 30, 2008, the Sutong Bridge opened. [1]")]
    # The bridge question stood alone: Wu Xinming is another subject. ("his" is the question's own "who".)
    assert "Wu" not in condenser.condense("Who built it and what was his job?", history)
    assert "Wu" not in condenser.condense("What was his job there?", history)


def test_a_question_about_the_collection_is_no_subject() -> None:
    history = [*conversation("When did the Sutong Bridge open?", "On June 30, 2008, the Sutong Bridge opened. [1]"),
               *conversation("What articles do you have?", "I have 7 articles, newest first:")]
    assert condenser.condense("How many vehicles use it every day?", history).endswith("(Sutong Bridge; open)")


def test_what_happened_on_a_day_is_what_its_answer_named() -> None:
    """The question named only the day: the follow-up is about what the answer named."""
    history = [{"role": "user", "content": "What happened on November 17?"},
               {"role": "assistant", "content": "On November 17, the signing ceremony of CNBM Yixing New Energy was "
                                                "held in Yixing Environmental Science Park. [1]"}]
    standalone = HeuristicCondenser().condense("Which company was involved?", history)
    assert "CNBM Yixing New Energy" in standalone
    # A question naming more than a day keeps its own subject.
    history[0]["content"] = "What happened to the bridge on November 17?"
    assert "CNBM" not in HeuristicCondenser().condense("Which company was involved?", history)


@pytest.mark.parametrize(("message", "question", "lead"), [
    # Words wrapped around the question, and the statement order they leave.
    ("Would you mind telling me who Meng Qingdong is?", "Who is Meng Qingdong?", ""),
    ("I was wondering who Xu Hong is", "Who is Xu Hong?", ""),
    ("Could you please tell me when the Sutong Bridge opened?", "When the Sutong Bridge opened?", ""),
    # ... but not the words asking for an overview, nor "if" (a yes-no question keeps its words).
    ("Tell me about Kunshan.", "Tell me about Kunshan.", ""),
    ("Do you know if the bridge is busy?", "Do you know if the bridge is busy?", ""),
    # A lead-up before the question, in sentences of its own or one long sentence.
    ("I read about Nantong. Who is its party secretary?", "Who is its party secretary?", "I read about Nantong."),
    ("The Sutong Bridge isn't Nantong's only river crossing, is it? How many are there?", "How many are there?",
     "The Sutong Bridge isn't Nantong's only river crossing, is it?"),
    ("Honestly I don't follow politics much but my dad does, and he mentioned Wu Xinming and a meeting in Nanjing, "
     "and I wondered: when did Wu move to Nantong?", "When did Wu move to Nantong?",
     "Honestly I don't follow politics much but my dad does, and he mentioned Wu Xinming and a meeting in Nanjing"),
    # ... "but" or "so" too, after a long lead; a message typed in lower case keeps its question so.
    ("There was a big jump in passengers, 529 percent or so, and the department says it will invest more, but how "
     "much money is the province putting in?", "How much money is the province putting in?",
     "There was a big jump in passengers, 529 percent or so, and the department says it will invest more"),
    ("there was a big jump in passengers, 529 percent or so, and the department says it will invest more, so how "
     "much money is the province putting in?", "how much money is the province putting in?",
     "there was a big jump in passengers, 529 percent or so, and the department says it will invest more"),
    ("The bridge is busy, so how many cars cross it?", "The bridge is busy, so how many cars cross it?", ""),
    # Two questions are asked together; a short lead stays; "Mr." ends no sentence.
    ("Why did the reform matter? What problem did it fix?", "Why did the reform matter? What problem did it fix?", ""),
    ("The zone where he spent eight years - which city is that in?",
     "The zone where he spent eight years - which city is that in?", ""),
    ("Mr. Wu said what?", "Mr. Wu said what?", ""),
    # A request with its follow-up is one message; a last sentence that asks nothing, or asks for help, is no
    # question; an abbreviation ends no sentence.
    ("I want to know who Xu Hong is. Can you help?", "I want to know who Xu Hong is. Can you help?", ""),
    ("Tell me who Xu Hong is. I heard the name on TV?", "Tell me who Xu Hong is. I heard the name on TV?", ""),
    ("Explain the Sutong Bridge. Why?", "Explain the Sutong Bridge. Why?", ""),
    ("Please tell me who Meng Qingdong of Canny Elevator Co. is?", "Who is Meng Qingdong of Canny Elevator Co.?", ""),
    ("I was wondering where Wu Xinming worked before he moved to Nantong in Sept. 2021?",
     "Where Wu Xinming worked before he moved to Nantong in Sept. 2021?", ""),
    ("Tell me when the U.S. embassy opened?", "When the U.S. embassy opened?", ""),
    # Only "who ... is" is put back in a question's order ("what kind of company Canny is" is no "what is kind").
    ("Can you tell me what kind of company Canny is?", "What kind of company Canny is?", ""),
    ("Do you know anything about Kunshan?", "Do you know anything about Kunshan?", ""),
])
def test_main_question(message: str, question: str, lead: str) -> None:
    """"Would you mind telling me who Meng Qingdong is?" and questions after a long lead-up were declined: every word
    of the wrapper and the lead-up counted as a word the answer should share."""
    assert main_question(message) == (question, lead)


def test_a_follow_up_goes_back_to_the_turn_that_talked_of_what_it_points_at() -> None:
    """"And the high-tech city, how big is it?" after Shibei High-tech City and then the Ningxichang area took the
    last subject, Ningxichang, and was declined; so were "those passengers" and "that park" past a turn between."""
    history = [{"role": "user", "content": "What is Shibei High-tech City?"},
               {"role": "assistant", "content": "Shibei High-tech City is only 5.2 square kilometers. [1]"},
               {"role": "user", "content": "What is the Ningxichang junction area?"},
               {"role": "assistant", "content": "The Ningxichang Junction Area is a pilot zone. [1]"}]
    standalone = HeuristicCondenser().condense("And the high-tech city, how big is it?", history)
    assert "Shibei High-tech City" in standalone and "Ningxichang" not in standalone
    # What the last turn talked of stays the subject.
    assert "Ningxichang" in HeuristicCondenser().condense("How big is the area?", history)
    # A time, the article, a post or a kind of place points at no one turn: "this year" and "the party secretary"
    # are in many answers.
    for question in ("What did she announce this year?", "Who is the party secretary there?",
                     "What did it say in the article?"):
        assert "Shibei" not in HeuristicCondenser().condense(question, history)


def test_an_earlier_question_is_the_question_it_asked() -> None:
    """"What company does he work for?" after "Would you mind telling me who Meng Qingdong is?" took "mind telling"
    for its subject's words."""
    history = [{"role": "user", "content": "Would you mind telling me who Meng Qingdong is?"},
               {"role": "assistant", "content": "Meng Qingdong, chief engineer of the company, said so. [1]"}]
    standalone = HeuristicCondenser().condense("What company does he work for?", history)
    assert "Meng Qingdong" in standalone and "mind" not in standalone


@pytest.mark.parametrize(("question", "parts"), [
    ("When did the Sutong Bridge open and how much traffic does it carry a day?",
     ("When did the Sutong Bridge open?", "How much traffic does it carry a day?")),
    ("Who is Meng Qingdong, and which company does he work for?",
     ("Who is Meng Qingdong?", "Which company does he work for?")),
    ("what did the batch cost and how much did the voucher cover", ("what did the batch cost?",
                                                                    "how much did the voucher cover?")),
    # One question: about one event, or "and" between two names.
    ("When and where was it held?", None),
    ("What is the relationship between Nantong and Shanghai?", None),
    ("What did Wu say and why?", None),
    ("Is it open and when did it open?", None),
    ("What is the difference between when the bridge opened and when the expo was held?", None),
    ("What did the report say about the zone and how it will grow?", None),
    ("When did the bridge open?, and who is Meng Qingdong?", ("When did the bridge open?", "Who is Meng Qingdong?")),
])
def test_two_questions(question: str, parts: tuple[str, str] | None) -> None:
    assert two_questions(question) == parts


@pytest.mark.parametrize(("question", "opinion"), [
    ("Should I visit Jiaxing during the Dragon Boat Festival?", True),
    ("Is Nantong a good place to live?", True),
    ("Do you think the estuary collaborative zone will succeed?", True),
    ("What's the best time of year to visit Ningxi?", True),
    ("Is Song Street worth visiting at night?", True),
    ("Does Nantong have a good economy?", True),
    ("is that good?", True),
    # Questions of fact, though they may judge: what the articles say.
    ("Is Suzhou the strongest prefecture-level city in China?", False),
    ("What did the General Secretary say is Nantong's biggest advantage?", False),
    ("Will the railway cut the trip to Shanghai to 40 minutes?", False),
    ("What are the goods exported through Shanghai ports?", False),
    # (From a review: a polite or led-up question, a trend, a value, a name, a noun's adjective, a rule.)
    ("Do you think you could tell me when the Sutong Bridge opened to traffic?", False),
    ("Is Nantong's transportation getting better?", False),
    ("Is the project worth 10 billion yuan?", False),
    ("Is the Great Wall in Jiangsu?", False),
    ("Are healthy food sales growing in Jiaxing?", False),
    ("Should the festival be held every year according to the article?", False),
])
def test_asks_for_opinion(question: str, opinion: bool) -> None:
    """"Should I visit Jiaxing during the Dragon Boat Festival?" got "... attract more people to visit Jiaxing", which
    reads as the bot's yes."""
    assert asks_for_opinion(question) is opinion


@pytest.mark.parametrize(("message", "written"), [
    ("huangyan known 4 what", "huangyan known for what"),
    ("wheres the conf", "where is the conference"),
    ("thx. whats the 4567 about", "what is the 4567 about"),
    ("what r the 3 leading industries in ninghuai", "what are the 3 leading industries in ninghuai"),
    ("y did he move", "why did he move"),
    # Not a word that only starts like shorthand, a capital initial, nor a figure.
    ("Uruguay and the U.S. and Y Street", "Uruguay and the U.S. and Y Street"),
    ("4 parks were built", "4 parks were built"),
    ("what is the r&d spending in nantong", "what is the r&d spending in nantong"),
    ("what did the u.s. say", "what did the u.s. say"),
    ("What happened on June 4 this year in 221 BC?", "What happened on June 4 this year in 221 BC?"),
    ("Who is Gov. Wu, and where is Wat Arun or Building B4?", "Who is Gov. Wu, and where is Wat Arun or Building B4?"),
    ("¿qué es Nantong y Suzhou?", "¿qué es Nantong y Suzhou?"),
    ("see www.nantong.gov.cn", "see www.nantong.gov.cn"),
    ("Great-grandson of Wu Xinming, who is he?", "Great-grandson of Wu Xinming, who is he?"),
    ("wheres the conf.", "where is the conference."),
])
def test_chat_shorthand_is_written_out(message: str, written: str) -> None:
    """"huangyan known 4 what", "wheres the conf" and "thx. whats the 4567 about" were declined: the shorthand counted
    as words the answer had to hold."""
    assert written_out(message) == written


def test_how_big_names_no_topic() -> None:
    """"whats shibei" -> "how big?" -> "who built it" carried "big" as a topic the answer should hold, which sank the
    sentence saying who built it."""
    reply = "Shibei High-tech City is only 5.2 square kilometers. [1]"
    history = [{"role": "user", "content": "whats shibei"}, {"role": "assistant", "content": reply},
               {"role": "user", "content": "how big?"}, {"role": "assistant", "content": reply}]
    standalone = HeuristicCondenser().condense("who built it", history)
    assert "shibei" in standalone and "big" not in standalone


@pytest.mark.parametrize(("question", "who_said"), [
    ("Who said that?", True), ("who said it", True), ("ok, who said that?", True), ("says who?", True),
    ("Whose words are those?", True), ("According to whom?", True), ("Who is being quoted?", True),
    ("who is that quote from?", True), ("Who made that claim?", True), ("who said so?", True),
    # A new question, or who did something: not who spoke in the last answer.
    ("Who said the park would open in May?", False), ("Who said that the bridge opened?", False),
    ("Who made it?", False), ("Who wrote that?", False), ("Who built it?", False),
])
def test_asks_who_said(question: str, who_said: bool) -> None:
    assert asks_who_said(question) is who_said


@pytest.mark.parametrize(("question", "words"), [
    ("Who said Ningxi Zai Shao is very famous?", "Ningxi Zai Shao is very famous"),
    ("who pointed out that Nantong's transportation is convenient", "Nantong's transportation is convenient"),
    ("Who said that?", None), ("Who said so?", None), ("Who said it first?", None),
    ("Who built the Sutong Bridge?", None), ("What did Xu Xiaoyu say?", None),
])
def test_said_what(question: str, words: str | None) -> None:
    assert said_what(question) == words
