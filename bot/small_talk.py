"""Messages that are only a greeting, thanks, goodbye or acknowledgement ("hi", "Thanks for your help!", "ok thanks,
bye", "got it"): there is nothing to search the articles for. One that goes on to ask something ("hello, when did the
bridge open?") is a question."""
from __future__ import annotations

import re

# Each phrase with the kind it is; a message is small talk when it is nothing but such phrases.
_PHRASES: tuple[tuple[str, str], ...] = (
    ("greeting", r"hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)"),
    ("thanks", r"thank you|thanks?|thx|ty|cheers|many thanks|much appreciated"),
    ("goodbye", r"bye|goodbye|bye-bye|see you|see ya"),
    # An acknowledgement alone ("ok", "got it"); beside any of the above, that one decides ("ok thanks").
    ("ack", r"ok(?:ay)?|alright|all right|got it|i see|understood|sure|fine|great|perfect|cool|nice|awesome"),
    # Words that go with the phrases above: "hi there", "thanks a lot for your help", "ok, bye then".
    ("", r"there|all|everyone|bot|a lot|so much|very much|again|later|soon|then|"
         r"for (?:the|your|all the|all your) (?:help|answers?|info(?:rmation)?)"),
)
_PHRASE = re.compile("|".join(f"(?P<k{i}>{words})" for i, (_, words) in enumerate(_PHRASES)), re.IGNORECASE)
_SEPARATOR = re.compile(r"[\s,.!?;:~)(_*-]*")


def small_talk_kind(message: str) -> str | None:
    """"greeting", "thanks", "goodbye" or "ack" for a message that is nothing but small talk (the last such phrase
    decides, "hi, thanks" -> thanks, and an acknowledgement only alone); None for anything else."""
    position, kinds = _SEPARATOR.match(message).end(), []  # type: ignore[union-attr]
    while position < len(message):
        match = _PHRASE.match(message, position)
        if match is None or (match.end() < len(message) and message[match.end()].isalnum()):
            return None
        kinds.append(_PHRASES[int(match.lastgroup[1:])][0])  # type: ignore[index]
        position = _SEPARATOR.match(message, match.end()).end()  # type: ignore[union-attr]
    kinds = [k for k in kinds if k]
    return next((k for k in reversed(kinds) if k != "ack"), kinds[-1] if kinds else None)


# "What articles do you have?", "List the articles", "What is the latest news?", "What can I ask you?": a question
# about the collection itself, answered with its list of articles rather than by searching their text.
_LIBRARY = re.compile(
    r"^\W*(?:(?:please|can you|could you|would you)\s+)?(?:"
    r"(?:list|show|show me|give me|name)\s+(?:the\s+|all\s+(?:the\s+)?|your\s+|me\s+)?(?:articles|stories|sources|"
    r"documents|news)|"
    r"(?:what|which)\s+(?:(?:kinds?|sorts?|types?)\s+of\s+)?(?:articles|stories|sources|documents|news|topics|"
    r"subjects)\s+(?:do you have|have you got|are there|"
    r"can i ask about|do you know(?: about)?|do you cover|are (?:in|covered)|are available)|"
    r"what\s+(?:are|were)\s+(?:the|your|these|those)\s+(?:articles|stories|sources|documents)(?:\s+about)?|"
    r"what\s+do\s+(?:the|your)\s+(?:articles|stories|documents)\s+(?:cover|talk about|say|discuss)|"
    r"what\s+(?:is|are)\s+in\s+(?:the|your)\s+(?:articles|index|collection|database)|"
    r"what(?:'s|’s|\s+is|\s+are)\s+(?:the\s+)?(?:latest|newest|most recent|recent)\s+(?:news|articles|stories)|"
    r"what(?:'s|’s|\s+is)\s+new|"
    r"what\s+can\s+(?:i|you)\s+(?:ask|answer)(?:\s+you)?(?:\s+about)?|"
    r"what\s+do\s+you\s+(?:know(?:\s+about)?|have)|"
    r"how\s+many\s+articles\s+(?:do you have|are there)"
    r")(?:\s+(?:here|now|today|then|so far|at the moment))?\s*[?.!]*\s*$",
    re.IGNORECASE)


def asks_what_is_indexed(message: str) -> bool:
    """Is the message a question about the collection itself ("What articles do you have?"), not about its news?"""
    return bool(_LIBRARY.match(message))
