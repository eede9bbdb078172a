"""Follow-up questions: rewrite "How many vehicles use it every day?" into something retrieval can use.

The default needs no model: when a question leans on the conversation (a pronoun, or too few words of its own),
the names and key words of the earlier user turns are added to it. When the earlier question asked who someone is
and the follow-up says "he" or "his", the names the bot's cited answer gave come too: after "Who is Xu Xiaoyu?"
answered with "Xu Xiaoyu, director of Jingjiang City, said. [1]", "Which park is his city best known for?" is
about Jingjiang City. An LLM rewriter (prompts/condense_question.txt) will implement the same `Condenser` protocol.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from bot.answerers import HOW_MEASURES, asks_for_more, introduced_people, named_people, without_request_words
from bot.schema import CITATION_MARKER
from bot.small_talk import asks_what_is_indexed, small_talk_kind
from index.bm25 import analyze

# A conversation turn: a plain earlier user question, or {"role": "user"|"assistant", "content": str}.
Turn = str | Mapping[str, str]

# (Longer forms first: "that one" is one pointing phrase; "the new one" points at the kind just talked about.)
_ANAPHORA = re.compile(r"\b(?:(?:which|that|this|the other|the(?: [a-z]+)?) ones?(?![\w-])|it|its|it's|they|them|"
                       r"their|theirs|there|this|that|these|those|he|him|his|she|her|the same|the former|the latter|"
                       r"then)\b", re.IGNORECASE)
_QUESTION_WORDS = frozenset(("what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much"))
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
# The measure "how" asks for ("how big?", "how many", "how busy"): no topic of the conversation.
_HOW_MEASURE = re.compile(rf"\bhow\s+(?:{'|'.join(HOW_MEASURES)}|many|much|busy|close|small|deep|heavy)\b",
                          re.IGNORECASE)
# Verbs and words of asking that carry no topic.
_GENERIC = frozenset("""did does do is are was were will would can could be been being has have had get got make made
tell say said happen happened there their they it its this that these those the a an of in on at to for from with
by about""".split())
# Verbs a request opens with ("Give me an example.", "Show me ..."): capitalised, they are still no names.
_ASKING_VERBS = frozenset("give show list name explain find provide share compare please".split())
# A request for an instance of the subject: its answer names what "it" will mean next ("Give me an example." ->
# "the Shibei High-tech City" -> "Which districts built it?").
_ASKS_FOR_INSTANCE = re.compile(r"\b(?:examples?|instances?|for one|such as|which ones?|name (?:one|some|a few))\b|"
                                r"^\W*(?:give|show|name|list)\b", re.IGNORECASE)
_PROPER_PHRASE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+the\s+|of\s+|the\s+)?[A-Z][\w'’-]*)*")
# Possessives that, after a name the question gives, are that name's: "Where did Suzhou Canny post its demand?".
_OWN_NAME_POSSESSIVES = frozenset(("its", "their", "his"))
# ... and personal pronouns too, once a clause of their own begins: "Where had Wu Xinming returned from when the
# reporter met him?" (but "What did Wu Xinming say about him?" is about someone else).
_OWN_NAME_PERSONAL = frozenset(("he", "him", "she", "her"))
_CLAUSE_WORD = re.compile(r"\b(?:when|while|after|before|because|if|since|as|where|who|that)\b", re.IGNORECASE)
# Words that point at nothing earlier: idioms ("these days", "at this point", "this year") and "it" with nothing to
# stand for ("it matters that ..."). Taken out before looking for pronouns.
_NOT_ANAPHORA = re.compile(r"\b(?:these days|at this (?:point|stage|moment)|this (?:year|month|week|time)\b|"
                           r"there (?:is|are|was|were|will be|have been|has been)\b|"
                           r"it (?:matters|mattered|is important|was important|is said|was said|seems|seemed)\b)",
                           re.IGNORECASE)
_EXISTS = re.compile(r"^\W*(?:(?:is|are|was|were) there\b|how (?:many|much)\b.*\b(?:is|are|was|were) there\b)",
                     re.IGNORECASE)
# "that" after these points back ("How much was that up?", "When did that happen?", "more about that project");
# after another word it starts a clause ("the plan that took in three towns", "it matters that people settle").
_BEFORE_POINTING_THAT = frozenset("""is was are were be been did does do about of in on at for from with by to after
before like than and or but what how why when where who which""".split())
# A follow-up about a person ("Where did he work before?", "his city").
_PERSONAL = re.compile(r"\b(?:he|him|his|she|her|hers)\b", re.IGNORECASE)
# An earlier question whose answer names or describes a person: "Who is Xu Xiaoyu?", "Who heads the committee?"
_ASKS_WHO = re.compile(r"^\W*(?:who|whom)\b", re.IGNORECASE)
_CALENDAR = frozenset("""january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday""".split())
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"'”’)]?\s+)$")


# Words wrapped around a question that ask nothing themselves: "Would you mind telling me who Meng Qingdong is?",
# "I was wondering when ...". ("Tell me about X" asks for an overview, and stays.)
_WRAPPER = re.compile(r"^\W*(?:(?:hi|hello|hey|ok|okay|so|well|and|but|also|please|sorry)\b[,!.]?\s+)*"
                      r"(?:(?:would|do) you mind (?:telling|explaining to|letting) me|"
                      r"(?:can|could|would|will) you (?:please )?(?:tell|explain to|let) me(?: know)?|"
                      r"i(?:'m| am| was) wondering|i(?:'d| would) like to know|i want to know|(?:please )?tell me|"
                      r"do you (?:happen to )?know|any idea)\s+(?!about\b|more\b|everything\b|something\b|anything\b|"
                      r"a\b|an\b|if\b|whether\b)(?=\w)", re.IGNORECASE)
# ... leaving a question in the order of a statement: "who Meng Qingdong is" asks "who is Meng Qingdong".
_STATED_ORDER = re.compile(r"^(who)\s+(.+?)\s+(is|was|are|were)\s*([?.!]*)\s*$", re.IGNORECASE)
# A question in a question's words: it opens with one (not merely ends with "?").
_QUESTION_OPENING = (r"^\W*(?:who|whom|whose|what|when|where|which|why|how|is|are|was|were|do|does|did|can|could|"
                     r"will|would|has|have|had)\b")
_ASKS_IN_WORDS = re.compile(_QUESTION_OPENING, re.IGNORECASE)
_ASKS = re.compile(rf"\?\s*$|{_QUESTION_OPENING}", re.IGNORECASE)
# ... but not one asking for help with the message itself.
_META = re.compile(r"^\W*(?:(?:can|could|would|will) you(?: please)? (?:help|do that|do it|tell me|answer)|"
                   r"(?:is|was) (?:that|it|this) (?:possible|right|true|correct)|why)\W*$", re.IGNORECASE)
# A sentence asking without a question's words: "Tell me who Xu Hong is.", "I want to know ...", "Explain ...".
_REQUESTS = re.compile(r"^\W*(?:please\s+)?(?:tell|explain|describe|give|show|list|summari[sz]e|name|compare|find|"
                       r"i (?:want|need|would like|'d like) to know|i(?:'m| am| was) wondering)\b", re.IGNORECASE)
_TAG = re.compile(r",\s*(?:is|isn't|are|aren't|was|wasn't|were|weren't|does|doesn't|do|don't|did|didn't|has|hasn't|"
                  r"have|haven't|can|can't|will|won't)\s+(?:it|he|she|they|there|that|this|you)\s*\?\s*$|"
                  r",\s*(?:right|correct|no)\s*\?\s*$", re.IGNORECASE)
_LONG_LEAD = 15
# (Only where the message says its question begins: a colon, "what I want to know is", "I wondered". After a
# plain comma the clause before may be the question's own: "according to the Nantong party secretary, what ...".)
_CLAUSE_QUESTION = re.compile(r"(?:[,;]|\s[-–—])\s+(?:(?:and|so|but)\s+)?(?:(?:what\s+)?i\s+(?:really\s+)?"
                              r"(?:want|wanted|would like|'d like)\s+to\s+know\s+is\s+|i\s+(?:wonder|wondered)\s*:?\s*|"
                              r"my question is\s*:?\s*|"
                              # ("..., which sounds crazy, and the department says it will invest more, but how much
                              # money is it putting in?": what comes after "but" or "so" is asked of what came before.)
                              r"(?:but|so)\s+)(?=(?:who|whom|whose|what|when|where|which|why|how)\b)|"
                              r":\s+(?=(?:who|whom|whose|what|when|where|which|why|how)\b)", re.IGNORECASE)
# (A full stop ends a sentence before a capital, and not after "Mr." or "Co.", nor a lone capital, "U.S.": "Canny
# Elevator Co. is ...", "in Sept. 2021", "i.e. his name" go on.)
_SENTENCE_BREAK = re.compile(r"(?<=[!?…])\s+(?=\S)|(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bNo\.)(?<!\bSt\.)"
                             r"(?<!\bMrs\.)(?<!\bProf\.)(?<!\bCo\.)(?<!\bLtd\.)(?<!\bInc\.)(?<!\bJr\.)(?<!\bSr\.)"
                             r"(?<!\b[A-Z]\.)(?<=\.)\s+(?=[A-Z])")


# Chat shorthand, written out: "huangyan known 4 what", "what r the 3 leading industries", "wheres the conf",
# "thx. whats the 4567 about" (a thanks opening a question is no part of it).
_SHORTHAND = {"r": "are", "u": "you", "ur": "your", "pls": "please", "plz": "please", "abt": "about",
              "bc": "because", "cuz": "because", "coz": "because", "wheres": "where is", "whos": "who is",
              "hows": "how is", "whens": "when is", "whats": "what is", "wats": "what is", "wat": "what",
              "conf": "conference", "govt": "government", "yr": "year", "yrs": "years", "mins": "minutes",
              "hrs": "hours", "ppl": "people", "b4": "before", "2day": "today"}
# (Typed in lower case and standing alone: "R&D", "r&d", "U.S.", "u.s.", "221 BC", "Wat Arun", "Building B4",
# "www.nantong.gov.cn" stay.)
_SHORTHAND_WORD = re.compile(r"(?<![\w'’&/-])(?<!\w\.)(" + "|".join(re.escape(w) for w in sorted(
    _SHORTHAND, key=len, reverse=True)) + r")(?![\w'’&/-]|\.\w)")
# "y" is "why" opening a message ("y did he move"); inside one it may be a word of another language ("Nantong y
# Suzhou").
_WHY_FIRST = re.compile(r"^(\W*)y(?=\s+(?:did|does|do|is|are|was|were|would|has|have|had|not|so|can|should)\b)")
# ("4" is "for" between a word and what it is for: "known 4 what"; not "4 parks", nor "June 4 this year".)
_FOR = re.compile(r"(?<=[a-z]) 4 (?=(?:what|who|which|me|you|u|them)\b)")
# (A thanks with its stop, or a dash between spaces: "Great-grandson of ..." is no thanks.)
_THANKS_FIRST = re.compile(r"^\W*(?:thx|thanks|thank you|ty|tks|cheers|ok(?:ay)?(?: thanks| thx| ty)?|cool|great|"
                           r"nice|got it)(?:\s*[,.!:;]+|\s+[-–—])\s*(?=\w)", re.IGNORECASE)


def written_out(message: str) -> str:
    """The message with chat shorthand written out, and a thanks opening it dropped: "thx. whats the 4567 about" ->
    "what is the 4567 about"."""
    message = _THANKS_FIRST.sub("", message)
    message = _WHY_FIRST.sub(r"\1why", _FOR.sub(" for ", message))
    return _SHORTHAND_WORD.sub(lambda m: _SHORTHAND[m.group(0)], message)


def main_question(message: str) -> tuple[str, str]:
    """(the question a message asks, what it says before that question). A long message ends with its question
    after what leads up to it ("Honestly I don't follow politics much... when did Wu move to Nantong?", "The bridge
    isn't the only crossing, is it? How many are there?"): the lead-up is no words the answer must share, but it may
    name the subject. Words wrapped around the question are dropped ("Would you mind telling me who Meng Qingdong
    is?" asks "Who is Meng Qingdong?")."""
    # (Runs of spaces squeezed first: the patterns below stay linear on a 2,000-character message.)
    message = written_out(" ".join(message.split()))
    sentences = _SENTENCE_BREAK.split(message)
    lead = ""
    # The last sentence asks, in a question's words ("It was 2008, right?" and "I heard the name on TV?" do not, nor
    # does "Can you help?"), and none before it asks or requests: two questions ("Why did the reform matter? What
    # problem did it fix?") and a request with its follow-up ("Tell me who Xu Hong is. Can you?") are one message. (A
    # tag question, "..., is it?", asks nothing of its own.)
    if (len(sentences) > 1 and _ASKS_IN_WORDS.search(sentences[-1]) and not _META.match(sentences[-1])
            and not any((_ASKS.search(s) and not _TAG.search(s)) or _REQUESTS.match(s) for s in sentences[:-1])):
        lead, question = " ".join(sentences[:-1]), sentences[-1]
    else:
        question = message
        # One long sentence may end in its question too: "..., so what I really want to know is how long the trip
        # will take?", "... and I wondered: when did Wu move to Nantong?". (A short one keeps its lead: "The zone
        # where he spent eight years - which city is that in?")
        breaks = [m for m in _CLAUSE_QUESTION.finditer(question) if len(question[:m.start()].split()) >= _LONG_LEAD]
        if breaks and _ASKS.search(question):
            lead, question = question[:breaks[-1].start()], question[breaks[-1].end():]
            # (A message typed with capitals asks a question typed so: "how much ..." after ", but" is not one typed
            # in lower case, whose names the answerer reads more leniently.)
            if message != message.lower():
                question = question[:1].upper() + question[1:]
    # (In one sentence only: "I want to know who Xu Hong is. Can you help?" stays whole.)
    if len(_SENTENCE_BREAK.split(question)) == 1 and (wrapper := _WRAPPER.match(question)) is not None:
        question = question[wrapper.end():]
        # ("who Meng Qingdong is" asks "who is Meng Qingdong"; "what kind of company Canny is" stays as it is.)
        if (stated := _STATED_ORDER.match(question)) is not None:
            asked, subject, verb, stop = stated.groups()
            question = f"{asked} {verb} {subject}{stop or '?'}"
        question = question[:1].upper() + question[1:]
    return question, lead


# "When did the Sutong Bridge open and how much traffic does it carry a day?": two questions in one, each with its
# own question word and at least three words ("When and where was it held?" is one question about one event).
_TWO_QUESTIONS = re.compile(r"^(?P<first>(?:when|where|who|whom|whose|what|which|how|why)\b(?:\s+\S+){2,}?)\s*,?\s+"
                            r"and\s+(?P<second>(?:when|where|who|whom|whose|what|which|how|why)\b(?:\s+\S+){2,}?)"
                            r"\s*[?.!]*$", re.IGNORECASE)


_BETWEEN = re.compile(r"\b(?:between|difference|compare|comparison|both|either)\b", re.IGNORECASE)
# A question's order: "how much traffic does it carry", "what company does he work for", not "how it will grow".
_ASKS_AS_A_QUESTION = re.compile(r"(?:when|where|why|how)\s+(?:(?:many|much|long|big|large|far|old|often|busy|soon|"
                                 r"high|fast)\s+(?:\w+\s+){0,2}?)?(?:did|does|do|is|are|was|were|will|would|can|could|"
                                 r"has|have|had|should|shall|may|might)\b|"
                                 r"(?:who|whom|whose|what|which)\s+(?!(?:it|he|she|they|we|i|you|this|that)\b)",
                                 re.IGNORECASE)


def two_questions(question: str) -> tuple[str, str] | None:
    """The two questions a question joins with "and" ("When did the bridge open and how busy is it?" -> "When did
    the bridge open?", "How busy is it?"), else None."""
    match = _TWO_QUESTIONS.match(" ".join(question.split()))
    # ("What is the difference between when the bridge opened and when the expo was held?" is one question; "... the
    # zone and how it will grow?" has one question word asking.)
    if match is None or _BETWEEN.search(match.group("first")) or not _ASKS_AS_A_QUESTION.match(match.group("second")):
        return None
    first, second = match.group("first").rstrip(" ,?"), match.group("second").rstrip("?.! ")
    # (A question typed in lower case stays so: its names are read more leniently.)
    if question != question.lower():
        second = second[:1].upper() + second[1:]
    return f"{first}?", f"{second}?"


# Advice, a judgement or a prediction of the bot's own: "Should I visit Jiaxing?", "Is Nantong a good place to live?",
# "Do you think the zone will succeed?", "What's the best time to visit Ningxi?". A sentence holding the same nouns
# ("... attract more people to visit Jiaxing") would read as the bot's "yes".
_JUDGED = (r"(?-i:good|nice|bad|great|healthy|unhealthy|safe|dangerous|fun|beautiful|boring|worthwhile|overrated|"
           r"underrated)")
_OPINION = re.compile(
    r"^\W*(?:(?:so|and|but|then)\s+)?(?:should|shall)\s+(?:i|we|one|people|tourists|visitors|you|they|"
    r"(?-i:[A-Z]\w+))\b|"
    # ("Do you think you could tell me when ...?" asks a fact.)
    r"\b(?:do|would|don't)\s+you\s+(?:think|believe|reckon|feel)\b(?!\s+(?:you|u)\s+(?:could|can|would|might)\b)|"
    r"\b(?:do|would|don't)\s+you\s+(?:recommend|suggest|advise|prefer|like|agree)\b|"
    r"\bin your (?:opinion|view)\b|\byour (?:opinion|view|advice|recommendation|take)\b|\bwhat do you make of\b|"
    # ("Is Nantong a good place to live?", "Are zongzi healthy?": the judgement ends the question. "Are healthy food
    # sales growing?" and "Is the Great Wall in Jiangsu?" ask facts.)
    rf"^\W*(?:is|are|was|were)\b[^?]{{1,80}}?\s(?:a\s+|an\s+)?(?:very\s+|really\s+)?{_JUDGED}"
    r"(?:\s+(?:place|city|town|idea|leader|investment|choice|destination|thing|one|option|time|deal|economy))?"
    r"(?:\s+(?:to|for)\s+\w+(?:\s+\w+){0,5})?\s*[?.!]*\s*$|"
    rf"^\W*(?:does|do|did)\b[^?]{{1,80}}?\bhave\s+(?:a\s+|an\s+)?{_JUDGED}\s+\w+\s*[?.!]*\s*$|"
    r"\bwhat(?:'s|’s|\s+is)\s+the\s+best\s+(?:time|way|place|season|month|day|thing)(?:\s+of\s+(?:the\s+)?year)?\s+"
    r"to\s+(?:visit|go|see|buy|eat|try|travel|live|stay|do)\b|"
    # ("Is the project worth 10 billion yuan?" asks a value.)
    r"\bworth\s+(?:visiting|a visit|seeing|buying|trying|it|going)\b|\bworth(?:while)?\s*[?.!]*\s*$", re.IGNORECASE)


def asks_for_opinion(question: str) -> bool:
    """Does the message ask the bot for advice, a judgement or a prediction of its own, which no article gives?"""
    return bool(_OPINION.search(" ".join(question.split())))


# "Who said that?", "whose words are those?", "says who?": who speaks in the sentence the bot has just quoted.
_WHO_SAID = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|and|so|but|wait|hm+|sorry|thanks?)\W+)*(?:"
    r"who\s+(?:said|says|say|stated|claimed|claims|told\s+(?:you|us|them|the\s+reporter)|mentioned)"
    r"\s+(?:that|this|it|so|those\s+words|these\s+words|(?:that|this|the)\s+(?:quote|statement|remark|claim|line))|"
    r"who\s+made\s+(?:that|this|the)\s+(?:statement|claim|remark|point)|"
    r"whose\s+(?:words|quote|statement|remark|claim|line)\s+(?:is|are|was|were)\s+(?:that|this|it|those|these)|"
    r"who\s+(?:is|was)\s+(?:that|this|it)\s+(?:quote\s+|statement\s+)?from|"
    r"(?:says|said)\s+who|according\s+to\s+whom|"
    r"who(?:'s|’s|\s+is|\s+was)\s+(?:being\s+)?(?:quoted|speaking|talking|the\s+(?:speaker|source))"
    r"(?:\s+(?:there|here|saying\s+(?:that|this)))?"
    r")\s*[?.!]*\s*$", re.IGNORECASE)


# "Who said Ningxi Zai Shao is very famous?": who speaks, in the sentence saying it.
_WHO_SAID_WHAT = re.compile(r"^\W*who\s+(?:said|says|stated|claimed|claims|pointed\s+out|points\s+out|noted|stressed|"
                            r"emphasi[sz]ed|told\s+(?:the\s+)?reporters?)\s+(?:that\s+)?(?P<what>.+?)\W*$",
                            re.IGNORECASE)


def said_what(question: str) -> str | None:
    """What "Who said ...?" asks who said ("Ningxi Zai Shao is very famous"); None for another question, or for
    "Who said that?", which asks about the bot's last answer."""
    match = _WHO_SAID_WHAT.match(" ".join(question.split()))
    if match is None or asks_who_said(question):
        return None
    what = match.group("what")
    return what if len(what.split()) >= 3 else None


def asks_who_said(question: str) -> bool:
    """Does the message ask who said what the bot has just quoted ("Who said that?", "says who?")?"""
    return bool(_WHO_SAID.match(" ".join(question.split())))


class Condenser(Protocol):
    def condense(self, question: str, history: Sequence[Turn], *, lean: bool = False) -> str:
        """The question as retrieval should read it. `lean`: read it as leaning on the conversation even when it
        looks whole ("What was released at the opening ceremony?" after a question about the Kunshan expo), which
        the pipeline asks for when the question read alone finds nothing."""
        ...


def exchanges(history: Sequence[Turn]) -> list[tuple[str, str]]:
    """(user question, the assistant's reply or "") for each user turn of the history, blank turns, small talk
    ("thanks!", with its reply) and questions about the collection ("What articles do you have?") dropped. A plain
    string or a mapping without a role is the user's."""
    pairs: list[tuple[str, str]] = []
    chatting = False
    for turn in history:
        if isinstance(turn, str):
            role, content = "user", turn
        else:
            role, content = str(turn.get("role", "user")), str(turn.get("content", ""))
        if not content.strip():
            continue
        if role == "user":
            # (An earlier question is the question it asked: "Would you mind telling me who Meng Qingdong is?" named
            # Meng Qingdong, not "mind telling".)
            content = main_question(content)[0]
            # ("What articles do you have?" and its list name no subject either.)
            chatting = small_talk_kind(content) is not None or asks_what_is_indexed(content)
            if not chatting:
                pairs.append((content, ""))
        elif role == "assistant" and pairs and not chatting:
            pairs[-1] = (pairs[-1][0], content)
    return pairs


class HeuristicCondenser:
    """Adds the subject of the conversation to a question that does not name its own."""

    def __init__(self, *, max_turns: int = 2, max_name_turns: int = 8, min_own_terms: int = 3,
                 max_answer_names: int = 2) -> None:
        self.max_turns = max_turns
        self.max_name_turns = max(max_name_turns, max_turns)
        self.min_own_terms = min_own_terms
        self.max_answer_names = max_answer_names

    def needs_context(self, question: str) -> bool:
        own = [t for t in analyze(question) if t not in _QUESTION_WORDS]
        if len(own) < self.min_own_terms:
            return True
        text = _without_idioms(question)
        return any(not _own_or_clause(question, text, match) for match in _ANAPHORA.finditer(text))

    def condense(self, question: str, history: Sequence[Turn], *, lean: bool = False) -> str:
        earlier = exchanges(history)[-self.max_name_turns:]
        if not earlier or not (lean or self.needs_context(question) or _points_back(question, *earlier[-1])):
            return question
        if (back := _recalled(question, earlier)) is not None:
            # "And the high-tech city, how big is it?" after Shibei High-tech City, then the Ningxichang area: the
            # conversation goes back to the turn that talked of what the question points at, as if it had ended
            # there.
            kept = earlier[:len(earlier) - back]
            return self.condense(question, [turn for asked, reply in kept
                                            for turn in ({"role": "user", "content": asked},
                                                         {"role": "assistant", "content": reply}) if turn["content"]],
                                 lean=lean)
        own = set(analyze(question))
        subject: list[str] = []
        # Further back than max_turns, only a name, and only through questions that leaned on the one before: the
        # subject stays "the Jiangyin-Jingjiang Industrial Park" through "How big is it?" and "How many companies are
        # in it?" to "Who runs it?", but not past "How many passengers did the railways carry?".
        leaning = True
        for back, (asked, reply) in enumerate(reversed(earlier)):
            if back >= self.max_turns and not leaning:
                break
            # "Describe Huangyan" names Huangyan, not "Describe Huangyan".
            turn = without_request_words(asked)
            phrases = [p for p in (m.group(0) for m in _PROPER_PHRASE.finditer(turn)) if _is_subject(p, turn)]
            named = {t for p in phrases for t in analyze(p)}
            if back < self.max_turns:
                # The topic words too: "How many more will be built?" after a question about river-crossing
                # passages.
                # (A verb of asking in lower case: "Give" of "Give me an example." is no name the answer must hold.)
                # ("How big?" asks a measure: "big" is no topic of the conversation.)
                topic = [w.lower() if w.lower() in _ASKING_VERBS else w
                         for w in _WORD.findall(_HOW_MEASURE.sub(" ", turn))
                         if (terms := analyze(w)) and terms[0] not in named and terms[0] not in own
                         and w.lower() not in _QUESTION_WORDS and w.lower() not in _GENERIC]
                subject.extend(phrases + ([" ".join(topic)] if topic else []))
            else:
                subject.extend(phrases)
            if (back == 0 and not phrases and not _PERSONAL.search(question) and not asks_for_more(question)
                    and (_ASKS_FOR_INSTANCE.search(asked) if self.needs_context(asked) else _only_a_day(turn))):
                # The last question asked for an instance and named it not ("Give me an example."), or asked about a
                # day and nothing named ("What happened on November 17?"): what its answer brought in ("the
                # Shanghai Shibei High-tech City", "CNBM Yixing New Energy") is what "it" now means, before the
                # subject further back. (Not after "Why was it needed?": its answer's other crossing is not "it".)
                subject.extend(_answer_names(reply, known=set(analyze(turn)) | own)[:self.max_answer_names])
            # "Who is X?" -> "X, director of Jingjiang City" -> "his city"; "Who is the secretary?" -> "Wu Xinming"
            # -> "Where did he work before?". Other answers' names are left out: "the Sutong Bridge ... the
            # Nantong Expressway" would pull "How many vehicles use it?" off the bridge.
            if _PERSONAL.search(question) and _ASKS_WHO.search(turn):
                answered = _answer_names(reply, known=named | set(analyze(turn)) | own)
                # "he" is the person the answer introduced, not the wine it named first ("Ningxi Zao Shao ... is
                # related to Wang Congde, the young minister of Dali Temple" -> "Where did he come from?").
                introduced = set(introduced_people(CITATION_MARKER.sub("", reply)))
                answered = ([n for n in answered if n in introduced] or answered)[:self.max_answer_names]
                phrases += answered
                subject.extend(answered)
            if phrases:
                break
            leaning = leaning and self.needs_context(asked)
        # "he" is a person: when the turn that gave the subject named only a place ("How long was he in the Fenhu
        # zone?"), the person comes from further back ("Who is Wu Xinming?").
        # (Not when the question names whom it means, "What did Xu Xiaoyu say about his city?", or asks who: "Who
        # built it and what was his job?")
        # ("Tell me more" after a chain about a person goes on about them too.)
        if ((_PERSONAL.search(question) or asks_for_more(question)) and not _ASKS_WHO.match(question)
                and not names_what_it_points_at(question)
                and (person := _last_person(earlier, leans=self.needs_context))):
            if not set(analyze(person)) <= set(analyze(" ".join(subject))) | own:
                subject.insert(0, person)
        extra = "; ".join(dict.fromkeys(s for s in subject if s))
        return f"{question} ({extra})" if extra else question


# "the action plan", "the bridge": a definite phrase of up to three lower-case words.
# (It stops before "of", "the" or "and": "the goal of the action plan" holds "the goal" and "the action plan".)
_DEFINITE = re.compile(r"\bthe\s+([a-z][\w-]*(?:\s+(?!(?:the|of|and)\b)[a-z][\w-]*){0,2})")


# What a question asking what happened on a day says besides the day.
_ON_A_DAY = frozenset("happen happened happens going on event events took take place day date".split())


# "the high-tech city", "that park", "those passengers": what the question points at, by a word or three.
_POINTED = re.compile(r"\b(?i:the|that|those|this|these)\s+([a-z][\w-]*(?:\s+(?!(?:the|of|and)\b)[a-z][\w-]*){0,2})")
# Words that point at no one turn: a time ("this year"), the article itself, a post or a kind of place any turn may
# name ("the party secretary there", "the city").
_NOT_RECALLED = frozenset(analyze("year years month week day time today article story piece report news interview "
                                  "party secretary mayor director chairman governor head leader official city town "
                                  "county province district area region country place one ones"))


def _recalled(question: str, earlier: Sequence[tuple[str, str]]) -> int | None:
    """How many exchanges back the conversation talked of what the question points at ("the exhibition", "those
    passengers"), when the last one did not: None when the last exchange did, or none did."""
    pointed = [terms for m in _POINTED.finditer(question)
               if (terms := {t for t in analyze(m.group(1)) if t not in _GENERIC and t not in _NOT_RECALLED})]
    if not pointed:
        return None
    for back, (asked, reply) in enumerate(reversed(earlier)):
        said = set(analyze(f"{asked} {CITATION_MARKER.sub('', reply)}"))
        if any(terms <= said for terms in pointed):
            return back or None
    return None


def _only_a_day(turn: str) -> bool:
    """Does the question name nothing but a day ("What happened on November 17?")? What happened is what its answer
    names."""
    words = [w.lower() for w in _WORD.findall(turn) if w.lower() not in _QUESTION_WORDS and w.lower() not in _GENERIC]
    return bool(words) and all(w in _CALENDAR or w in _ON_A_DAY for w in words)


def _points_back(question: str, turn: str, reply: str) -> bool:
    """Does a question that names nothing point back with a definite phrase the last exchange used ("When was the
    action plan released?" after an answer quoting Kunshan's "... Metaverse Industry ... Action Plan")? A question
    giving a name of its own stands alone."""
    if _names_before(question, len(question)):
        return False
    said = set(analyze(f"{turn} {CITATION_MARKER.sub('', reply)}"))
    for match in _DEFINITE.finditer(question):
        terms = [t for t in analyze(match.group(1)) if t not in _GENERIC]
        if terms and set(terms) <= said:
            return True
    return False


def _last_person(earlier: Sequence[tuple[str, str]], *, leans: Callable[[str], bool]) -> str | None:
    """The person the conversation last named: in a question ("Where did Wu Xinming work?"), or in a cited answer
    that introduces them ("Wu Xinming, secretary of ...") or names the one asked about in lower case. Only as far
    back as the questions leaned on the one before: one that stood alone began another subject."""
    for asked, reply in reversed(earlier):
        text = CITATION_MARKER.sub("", reply) if CITATION_MARKER.search(reply) else ""
        people = named_people(asked) + introduced_people(text) + [
            n for n in named_people(text) if n.lower() in asked.lower()]
        if people:
            return people[0]
        if not leans(asked):
            return None
    return None


def _answer_names(reply: str, *, known: set[str]) -> list[str]:
    """The names a cited answer gives that the conversation had not ("Jingjiang City"), in order. An answer that
    cites nothing (an abstention, an error) gives none."""
    if not CITATION_MARKER.search(reply):
        return []
    text = CITATION_MARKER.sub("", reply)
    names: list[str] = []
    for match in _PROPER_PHRASE.finditer(text):
        words = match.group(0).split()
        # "The Sutong Bridge" -> "Sutong Bridge"; "In June" is no name, nor is a lone capitalised word opening a
        # sentence.
        while words and (not analyze(words[0]) or words[0].lower() in _CALENDAR):
            words.pop(0)
        if not words or (len(words) == 1 and words[0] == match.group(0)
                         and _SENTENCE_START.search(text[:match.start()])):
            continue
        terms = analyze(" ".join(words))
        if terms and not set(terms) <= known:
            names.append(" ".join(words))
            known = known | set(terms)
    return names


def points_at_nothing(question: str) -> bool:
    """Has the question no pointing word at all ("What do you know about baijiu?")? Read as a follow-up only for its
    few words of its own, it may be about something new. ("Tell me more" asks about the subject it does not name.)"""
    return _ANAPHORA.search(_without_idioms(question)) is None and not asks_for_more(question)


def names_what_it_points_at(question: str) -> bool:
    """Does every pointing word of the question follow a name the question gives ("Sutong Bridge - when did it
    open?"), so that it can stand alone? Not "What did he say about Nantong?" nor "What is it?"."""
    text = _without_idioms(question)
    return _names_before(question, len(question)) and all(
        _names_before(question, match.start()) or _own_or_clause(question, text, match)
        for match in _ANAPHORA.finditer(text))


def _without_idioms(question: str) -> str:
    """The question with its non-pointing words blanked out (same length, so positions stay)."""
    text = _NOT_ANAPHORA.sub(lambda m: "_" * len(m.group(0)), question)
    # "Is there a museum ...?", "How many passages are there in Nantong?" ask whether something exists; "Which
    # officials were there?" asks about a place just talked about.
    if _EXISTS.match(text):
        text = re.sub(r"\b(?:is|are|was|were) there\b", lambda m: "_" * len(m.group(0)), text, count=1,
                      flags=re.IGNORECASE)
    return text


def _own_or_clause(question: str, text: str, match: re.Match[str]) -> bool:
    """Is this pointing word the question's own (a possessive after its name, "him" in a clause after the name) or a
    "that" opening a clause, so that it leans on nothing earlier?"""
    word = match.group(0).lower()
    if word in _OWN_NAME_POSSESSIVES:
        return _names_before(question, match.start())
    if word in _OWN_NAME_PERSONAL:
        name_end = _name_end(question, match.start())
        return name_end is not None and bool(_CLAUSE_WORD.search(question, name_end, match.start()))
    if word == "that":
        return _starts_a_clause(text, match)
    return False


def _starts_a_clause(text: str, match: re.Match[str]) -> bool:
    """Is this "that" a relative pronoun or conjunction, not one pointing back? It points back at the end of the
    question ("Who said that?"), before a last word ("Why did they approve that plan?"), and after a verb of being,
    a preposition or a question word ("How much was that up?")."""
    before = re.findall(r"[\w'’]+", text[:match.start()])
    after = re.findall(r"[\w'’]+", text[match.end():])
    return len(after) > 1 and bool(before) and before[-1].lower() not in _BEFORE_POINTING_THAT


def _names_before(question: str, end: int) -> bool:
    """Does the question name someone or something before this point ("Suzhou Canny"; not "In June", "I", nor the
    capital that opens it)?"""
    return _name_end(question, end) is not None


def _name_end(question: str, end: int) -> int | None:
    """Where the first name the question gives before this point ends, if it gives one."""
    for match in _PROPER_PHRASE.finditer(question[:end]):
        words = match.group(0).split()
        if not question[:match.start()].strip():
            words = words[1:]
        if any(w.lower() not in _CALENDAR and w.lower() not in _GENERIC and w.lower() not in _QUESTION_WORDS
               and w != "I" for w in words):
            return match.end()
    return None


def _is_subject(phrase: str, turn: str) -> bool:
    # A capitalised first word of the sentence is not a name ("When", "How", "What"), nor are "I" and a month
    # ("What did I miss?", "in June").
    words = phrase.split()
    if turn.lstrip().startswith(phrase) and len(words) == 1:
        return False
    first = re.sub(r"['’]s$", "", words[0].lower())  # "What's"
    return (first not in _QUESTION_WORDS and first not in {"the", "a", "an", "did", "does", "is"}
            and any(w != "I" and w.lower() not in _CALENDAR for w in words))
