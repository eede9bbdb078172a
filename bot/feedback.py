"""Thumbs up/down on answers, kept in SQLite in the data dir, exportable as a question set for `bot eval`.

Every operation opens and closes its own connection, so one store object is safe to share between threads.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.errors import UsageError

logger = logging.getLogger(__name__)

RATINGS = ("up", "down")
DOWN_NOTE = "rated down - fill in expected"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    comment TEXT NOT NULL
)
"""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # timeout: concurrent writers wait for the lock instead of failing at once.
        with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
            conn.row_factory = sqlite3.Row
            with conn:
                conn.execute(_SCHEMA)
                yield conn

    def add(
        self,
        *,
        rating: str,
        question: str,
        answer: Mapping[str, Any],
        history: Sequence[str | Mapping[str, str]] = (),
        comment: str = "",
    ) -> int:
        """Store one rating of `answer` (an `Answer.to_dict()`); returns the new row id."""
        if rating not in RATINGS:
            raise UsageError(f"Rating {rating!r} is not valid. Use 'up' or 'down'.")
        if not question or not question.strip():
            raise UsageError("The rated question is empty. Send the question that was asked.")
        if not isinstance(answer, Mapping):
            raise UsageError(f"The rated answer must be the answer object (a mapping), not {type(answer).__name__}.")
        citations = list(answer.get("citations") or [])
        row = (
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            rating,
            question.strip(),
            json.dumps([_plain_turn(t) for t in history], ensure_ascii=False),
            str(answer.get("answer") or ""),
            1 if answer.get("abstained") else 0,
            json.dumps(citations, ensure_ascii=False),
            comment or "",
        )
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, rating, question, history, answer, abstained, citations, comment)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            feedback_id = int(cursor.lastrowid or 0)
        logger.info("Stored feedback %d (%s)", feedback_id, rating)
        return feedback_id

    def rows(self) -> list[dict[str, Any]]:
        """Every stored rating, oldest first, with history and citations decoded."""
        with self._connect() as conn:
            records = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [
            {
                **dict(r),
                "abstained": bool(r["abstained"]),
                "history": json.loads(r["history"]),
                "citations": json.loads(r["citations"]),
            }
            for r in records
        ]

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_question_set(self, path: Path) -> int:
        """Write every rating as a `bot eval` case (YAML); returns the number of cases written.

        Thumbs-up: the answer becomes the reference and its cited titles the gold sources; a thumbs-up on a
        decline is an unanswerable case. Thumbs-down: only the question, as an answerable case, with a YAML comment
        asking for the expected answer (`bot eval` rejects unknown keys, so the note and the rated answer travel as
        comments). A thumbs-down on a decline says the user wanted an answer: until `expected` is filled in, the
        case checks only that the bot answers. With no ratings nothing is written (UsageError): `bot eval` refuses
        a set without cases.
        """
        rows = self.rows() if self.path.exists() else []
        if not rows:
            raise UsageError(f"Nothing to export: no answer has been rated yet (in {self.path}). "
                             "Rate answers with thumbs up/down in the chat (`bot serve`) first.")
        lines = [
            "# Question set exported from user feedback (bot feedback export); `bot eval` reads it.",
            "# Thumbs-up answers are kept as references; thumbs-down cases need their expected answer filled in.",
            "cases:",
        ]
        for row in rows:
            lines.append("")
            if row["rating"] == "down" and row["abstained"]:
                lines.append(f"  # {DOWN_NOTE}: the bot declined and the user wanted an answer.")
                lines.append("  # Add `expected:`, the facts the answer must hold; without it the case checks only")
                lines.append("  # that the bot answers.")
                lines.append("  # The decline that was rated down:")
                lines.extend(_comment_lines(row["answer"] or "(empty answer)"))
            elif row["rating"] == "down":
                lines.append(f"  # {DOWN_NOTE} (or set `answerable: false` if the articles do not say).")
                lines.append("  # The answer that was rated down:")
                lines.extend(_comment_lines(row["answer"] or "(empty answer)"))
            if row["comment"]:
                lines.append("  # The user's comment:")
                lines.extend(_comment_lines(row["comment"]))
            dumped = yaml.safe_dump([_case(row)], allow_unicode=True, sort_keys=False, width=100)
            lines.extend("  " + line for line in dumped.splitlines())
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"Cannot write {path}: {exc.strerror}. Choose a writable file path.") from None
        logger.info("Exported %d feedback cases to %s", len(rows), path)
        return len(rows)


def _case(row: Mapping[str, Any]) -> dict[str, Any]:
    # A thumbs-down says the reply was wrong: on a decline, that an answer was wanted. Only a thumbs-up on a
    # decline says the question is one the articles do not answer.
    answerable = row["rating"] == "down" or not row["abstained"]
    case: dict[str, Any] = {"id": f"feedback-{row['id']}", "question": row["question"],
                            "history": row["history"], "answerable": answerable}
    if row["rating"] == "up":
        case["reference"] = row["answer"]
        sources = _cited_titles(row["citations"])
        # `bot eval` refuses gold sources on an unanswerable case.
        if answerable and sources:
            case["sources"] = sources
    return case


def _cited_titles(citations: Sequence[Mapping[str, Any]]) -> list[str]:
    titles: list[str] = []
    for citation in citations:
        title = str(citation.get("title") or "") if isinstance(citation, Mapping) else ""
        if title and title not in titles:
            titles.append(title)
    return titles


def _plain_turn(turn: str | Mapping[str, str]) -> str | dict[str, str]:
    if isinstance(turn, str):
        return turn
    return {"role": str(turn.get("role", "user")), "content": str(turn.get("content", ""))}


def _comment_lines(text: str) -> list[str]:
    return [f"  #   {line}".rstrip() for line in text.splitlines() or [""]]
