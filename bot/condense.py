"""Follow-up questions: rewrite "How many vehicles use it every day?" into something retrieval can use.

The default needs no model: when a question leans on the conversation (a pronoun, or too few words of its own),
the names and key words of the earlier user turns are added to it. An LLM rewriter (prompts/condense_question.txt)
will implement the same `Condenser` protocol.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from index.bm25 import analyze

# A conversation turn: a plain earlier user question, or {"role": "user"|"assistant", "content": str}.
Turn = str | Mapping[str, str]

_ANAPHORA = re.compile(r"\b(?:it|its|it's|they|them|their|theirs|there|this|that|these|those|he|him|his|she|her|"
                       r"the same|the former|the latter|then)\b", re.IGNORECASE)
_QUESTION_WORDS = frozenset(("what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much"))
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
# Verbs and words of asking that carry no topic.
_GENERIC = frozenset("""did does do is are was were will would can could be been being has have had get got make made
tell say said happen happened there their they it its this that these those the a an of in on at to for from with
by about""".split())
_PROPER_PHRASE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+the\s+|of\s+|the\s+)?[A-Z][\w'’-]*)*")


class Condenser(Protocol):
    def condense(self, question: str, history: Sequence[Turn]) -> str: ...


def user_turns(history: Sequence[Turn]) -> list[str]:
    turns = []
    for turn in history:
        if isinstance(turn, str):
            turns.append(turn)
        elif str(turn.get("role", "user")) == "user":
            turns.append(str(turn.get("content", "")))
    return [t for t in turns if t.strip()]


class HeuristicCondenser:
    """Adds the subject of the conversation to a question that does not name its own."""

    def __init__(self, *, max_turns: int = 2, min_own_terms: int = 3) -> None:
        self.max_turns = max_turns
        self.min_own_terms = min_own_terms

    def needs_context(self, question: str) -> bool:
        own = [t for t in analyze(question) if t not in _QUESTION_WORDS]
        return bool(_ANAPHORA.search(question)) or len(own) < self.min_own_terms

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        earlier = user_turns(history)[-self.max_turns:]
        if not earlier or not self.needs_context(question):
            return question
        own = set(analyze(question))
        subject: list[str] = []
        for turn in reversed(earlier):
            phrases = [p for p in (m.group(0) for m in _PROPER_PHRASE.finditer(turn)) if _is_subject(p, turn)]
            named = {t for p in phrases for t in analyze(p)}
            # The topic words too: "How many more will be built?" after a question about river-crossing passages.
            topic = [w for w in _WORD.findall(turn) if (terms := analyze(w)) and terms[0] not in named
                     and terms[0] not in own and w.lower() not in _QUESTION_WORDS and w.lower() not in _GENERIC]
            subject.extend(phrases + ([" ".join(topic)] if topic else []))
            if phrases:
                break
        extra = "; ".join(dict.fromkeys(s for s in subject if s))
        return f"{question} ({extra})" if extra else question


def _is_subject(phrase: str, turn: str) -> bool:
    # A capitalised first word of the sentence is not a name ("When", "How", "What").
    words = phrase.split()
    if turn.lstrip().startswith(phrase) and len(words) == 1:
        return False
    return words[0].lower() not in _QUESTION_WORDS and words[0].lower() not in {"the", "a", "an", "did", "does", "is"}
