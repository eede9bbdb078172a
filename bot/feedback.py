"""Thumbs up/down on answers, kept in SQLite in the data dir, exportable as a question set for `bot eval`.

Every operation opens and closes its own connection, so one store object is safe to share between threads.
"""
from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bot.errors import FeedbackStoreError, UsageError
from bot.schema import CITATION_MARKER

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
        """A connection in a transaction. A database that cannot be used raises FeedbackStoreError saying what to do,
        so every face (CLI, REST, chat) can report it in one line; the file is never changed or replaced."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise FeedbackStoreError(f"The feedback database {self.path} cannot be made: a file is in the way of "
                                     "its folder. Point the data dir at a folder.") from None
        except OSError as exc:
            raise FeedbackStoreError(f"The folder of the feedback database {self.path} cannot be created "
                                     f"({exc.strerror or exc}). Point the data dir at a writable folder.") from None
        try:
            # timeout: concurrent writers wait for the lock instead of failing at once.
            with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
                conn.row_factory = sqlite3.Row
                with conn:
                    conn.execute(_SCHEMA)
                    yield conn
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # our own mistake, not the database's
        except sqlite3.DatabaseError as exc:
            raise FeedbackStoreError(_unusable(self.path, exc)) from None

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

    def secret(self) -> bytes:
        """A random key kept with the ratings, made on first use: the web faces sign their withdrawal receipts with
        it, so a receipt stays valid when the server restarts, and is as private as the ratings themselves."""
        with self._connect() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS secret (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL)")
            conn.execute("INSERT OR IGNORE INTO secret (id, key) VALUES (1, ?)", (secrets.token_bytes(32),))
            return bytes(conn.execute("SELECT key FROM secret WHERE id = 1").fetchone()[0])

    def remove(self, feedback_id: int) -> bool:
        """Delete one rating; False when there is no such rating (any more)."""
        with self._connect() as conn:
            deleted = conn.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,)).rowcount
        if deleted:
            logger.info("Withdrew feedback %d", feedback_id)
        return bool(deleted)

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_question_set(self, path: Path) -> int:
        """Write every rating as a `bot eval` case (YAML); returns the number of cases written.

        Thumbs-up: the answer becomes the reference and its cited titles the gold sources; a thumbs-up on a
        decline is an unanswerable case. Thumbs-down: the question, as an answerable case, with a YAML comment
        asking for the expected answer (`bot eval` rejects unknown keys, so the note and the rated answer travel as
        comments). On an answer, the sentences it quoted become `unexpected`, so the case fails while the bot
        gives the same wrong answer. A thumbs-down on a decline says the user wanted an answer: until `expected`
        is filled in, the case checks only that the bot answers. With no ratings nothing is written (UsageError):
        `bot eval` refuses a set without cases.
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
                lines.append("  # `unexpected` holds what the answer quoted (drop any sentence that was right): the")
                lines.append("  # case fails while the bot gives that answer again.")
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
                            "history": _eval_history(row["history"]), "answerable": answerable}
    if row["rating"] == "up":
        case["reference"] = row["answer"]
        sources = _cited_titles(row["citations"])
        # `bot eval` refuses gold sources on an unanswerable case.
        if answerable and sources:
            case["sources"] = sources
    elif not row["abstained"] and (wrong := _wrong_answer(row["answer"], row["citations"])):
        case["unexpected"] = wrong
    return case


def _wrong_answer(answer: str, citations: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a rated-down answer said, as `unexpected` items: the sentences it quoted, as far as the answer shows
    them (not a byline behind "The article was reviewed by ..."); else the answer itself, without its [n] markers."""
    from bot.evaluate import contains_fact

    quotes: list[str] = []
    for citation in citations:
        quote = " ".join(str(citation.get("quote") or "").split()) if isinstance(citation, Mapping) else ""
        if quote and quote not in quotes and contains_fact(answer, quote):
            quotes.append(quote)
    if quotes:
        return quotes
    whole = " ".join(CITATION_MARKER.sub("", answer).split())
    return [whole] if whole else []


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> str:
    """One line saying why SQLite cannot use the feedback database at `path`, and what to do."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if "locked" in reason or "busy" in reason:
        return (f"The feedback database {path} is busy ({reason}): another process has held it for over 10 "
                "seconds. Try again.")
    if path.is_dir():
        return f"The feedback database {path} is a folder, not a file. Move it aside; new ratings then start a new one."
    if "readonly" in reason or "read-only" in reason:
        return f"The feedback database {path} cannot be written ({reason}). Make it writable: `chmod u+w {path}`."
    if "unable to open" in reason:
        return (f"The feedback database {path} cannot be opened ({reason}). Check that its folder exists and is "
                "writable.")
    if "no such" in reason or "no column" in reason:  # a SQLite file, with another program's tables
        return (f"The feedback database {path} is not one this version can use ({reason}). Move it aside; new "
                "ratings then start a new one.")
    if isinstance(exc, sqlite3.OperationalError):
        return f"The feedback database {path} cannot be used ({reason}). Check the file and its folder."
    # "file is not a database", "database disk image is malformed".
    return f"The feedback database {path} is damaged ({reason}). Move it aside; new ratings then start a new one."


def _cited_titles(citations: Sequence[Mapping[str, Any]]) -> list[str]:
    titles: list[str] = []
    for citation in citations:
        title = str(citation.get("title") or "") if isinstance(citation, Mapping) else ""
        if title and title not in titles:
            titles.append(title)
    return titles


def _eval_history(history: Sequence[Any]) -> list[str | dict[str, str]]:
    """The turns `bot eval` takes (a question, or a user's or the assistant's turn): an empty question or a turn of
    another role (a client's "system" message) would make it refuse the whole exported set."""
    from bot.evaluate import ROLES

    return [turn for turn in history
            if (isinstance(turn, str) and turn.strip())
            or (isinstance(turn, Mapping) and turn.get("role") in ROLES and isinstance(turn.get("content"), str))]


def _plain_turn(turn: str | Mapping[str, str]) -> str | dict[str, str]:
    if isinstance(turn, str):
        return turn
    return {"role": str(turn.get("role", "user")), "content": str(turn.get("content", ""))}


def _comment_lines(text: str) -> list[str]:
    return [f"  #   {line}".rstrip() for line in text.splitlines() or [""]]
