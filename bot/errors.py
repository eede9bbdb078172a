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


class IndexMissingError(BotError):
    """There is no index yet, or it is empty."""


class IndexMismatchError(BotError):
    """The index was built with another embedding model or chunker than the one configured."""


class StoreUnavailableError(BotError):
    """The Chroma server (BOT_CHROMA_URL) cannot be reached."""
