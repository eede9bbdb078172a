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
