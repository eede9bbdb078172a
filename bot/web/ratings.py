"""Thumbs up/down as the web faces keep them: one rating per answer, which the reader may change or take back.

A second click on the pressed thumb withdraws the rating; the other thumb replaces it. `Ratings` stores through the
feedback store (bot/feedback.py) and hands back a receipt, the rating's id and a token (an HMAC of the id under a
key kept with the ratings, `FeedbackStore.secret`), which withdrawing or replacing the rating needs. So a client
takes back only the ratings it stored, not any rating by counting ids, and a receipt outlasts a server restart.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.errors import FeedbackStoreError

logger = logging.getLogger(__name__)

# A receipt: {"id": the stored rating's id, "token": what withdrawing it needs}.
Receipt = dict[str, Any]


class FeedbackSink(Protocol):
    def add(self, *, rating: str, question: str, answer: dict, history: Sequence = (), comment: str = "") -> int: ...

    def remove(self, feedback_id: int) -> bool: ...


@dataclass(frozen=True)
class Ratings:
    """Stores ratings in `store` (a `bot.feedback.FeedbackStore`) and withdraws them on a valid receipt."""

    store: FeedbackSink
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def token(self, feedback_id: int) -> str:
        return hmac.new(self.key, str(feedback_id).encode(), hashlib.sha256).hexdigest()[:32]

    def add(self, *, rating: str, question: str, answer: dict, history: Sequence = (), comment: str = "",
            replaces: Mapping[str, Any] | None = None) -> Receipt:
        """Store a rating; with `replaces` (an earlier receipt) also withdraw that one, once the new one is stored.
        The receipt says `replaced`: False when there was nothing to replace or its receipt is not valid (any
        more), or when withdrawing it failed (logged: the new rating is stored, so its receipt is returned).
        FeedbackStoreError when the new rating cannot be stored."""
        feedback_id = self.store.add(rating=rating, question=question, answer=answer, history=history,
                                     comment=comment)
        replaced = False
        if replaces:
            try:
                replaced = self.withdraw(replaces.get("id"), replaces.get("token"))
            except FeedbackStoreError as exc:
                logger.error("The rating %s was stored but the one it replaces, %r, was not withdrawn: %s",
                             feedback_id, replaces.get("id"), exc)
        return {"id": feedback_id, "token": self.token(feedback_id), "replaced": replaced}

    def withdraw(self, feedback_id: object, token: object) -> bool:
        """Delete the rating `feedback_id` when `token` is its receipt's; False when it is not, or when the rating
        is gone already. FeedbackStoreError when the store cannot be used."""
        if type(feedback_id) is not int or not isinstance(token, str):
            return False
        if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), self.token(feedback_id).encode()):
            return False
        return self.store.remove(feedback_id)
