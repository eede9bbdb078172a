"""The index's own exceptions (index/ never imports bot); each message is one line naming the file and the fix."""
from __future__ import annotations


class IndexingError(Exception):
    """Base class: an expected failure while reading or indexing the corpus."""


class LoadError(IndexingError):
    """A file that cannot be read; the message starts with the file path."""


class UnreadableError(LoadError):
    """A file skipped without judging its text: it cannot be read now (permissions, a broken link, gone meanwhile)
    or is not a regular file at all (a pipe, a socket, a device). What was indexed from it is kept."""


class CorpusError(IndexingError):
    """A missing corpus folder, or a folder with no supported files."""


class ModelError(IndexingError):
    """The embedding model folder is missing, holds no model, or cannot be loaded: nothing can be embedded, so a
    run stops rather than skip every file for it."""
