"""Messages that are only a greeting, thanks or goodbye ("hi", "Thanks for your help!", "ok thanks, bye"): there is
nothing to search the articles for. One that goes on to ask something ("hello, when did the bridge open?") is a
question."""
from __future__ import annotations

import re

# Each phrase with the kind it is; a message is small talk when it is nothing but such phrases.
_PHRASES: tuple[tuple[str, str], ...] = (
    ("greeting", r"hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)"),
    ("thanks", r"thank you|thanks?|thx|ty|cheers|many thanks|much appreciated"),
    ("goodbye", r"bye|goodbye|bye-bye|see you|see ya"),
    # Words that go with the phrases above: "hi there", "thanks a lot for your help", "ok, bye then".
    ("", r"ok(?:ay)?|great|perfect|cool|there|all|everyone|bot|a lot|so much|very much|again|later|soon|then|"
         r"for (?:the|your|all the|all your) (?:help|answers?|info(?:rmation)?)"),
)
_PHRASE = re.compile("|".join(f"(?P<k{i}>{words})" for i, (_, words) in enumerate(_PHRASES)), re.IGNORECASE)
_SEPARATOR = re.compile(r"[\s,.!?;:~)(_*-]*")


def small_talk_kind(message: str) -> str | None:
    """"greeting", "thanks" or "goodbye" for a message that is nothing but small talk (the last such phrase decides:
    "hi, thanks" -> thanks); None for anything else."""
    position, kind = _SEPARATOR.match(message).end(), None  # type: ignore[union-attr]
    while position < len(message):
        match = _PHRASE.match(message, position)
        if match is None or (match.end() < len(message) and message[match.end()].isalnum()):
            return None
        kind = _PHRASES[int(match.lastgroup[1:])][0] or kind  # type: ignore[index]
        position = _SEPARATOR.match(message, match.end()).end()  # type: ignore[union-attr]
    return kind
