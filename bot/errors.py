"""The few errors the product raises on purpose.

Each message names the bad value and the fix; the faces (CLI, web) turn them into one line of user text.
"""
from __future__ import annotations


class BotError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = 1


class UsageError(BotError):
    """The user asked for something malformed (empty question, bad option, missing folder)."""

    exit_code = 2


class ConfigError(BotError):
    """A setting is invalid (bad value in the config file or a BOT_* variable)."""

    exit_code = 2


class FeedbackStoreError(BotError):
    """The feedback database cannot be used: damaged, not a database, a folder, busy, or not writable."""


# The index's own errors, raised below the bot layer; re-exported so callers need one place to import from.
from index.store import IndexMismatchError, IndexMissingError, StoreUnavailableError  # noqa: E402

__all__ = ["BotError", "ConfigError", "FeedbackStoreError", "IndexMismatchError", "IndexMissingError",
           "StoreUnavailableError", "UsageError"]
