"""Offline cl100k token counting: a tiktoken Encoding built from quicktok's bundled vocabulary.

`tiktoken.get_encoding("cl100k_base")` downloads its vocabulary on a fresh machine, so it is never called here.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

logger = logging.getLogger(__name__)

# Copied from tiktoken_ext/openai_public.py, where it sits inside cl100k_base() next to the download call.
CL100K_PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
SUPPORTED_ENCODINGS = ("cl100k_base",)


def _cl100k_special_tokens() -> dict[str, int]:
    # The token strings are module constants there; the ids sit inside cl100k_base(), so they are copied.
    from tiktoken_ext.openai_public import ENDOFPROMPT, ENDOFTEXT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

    return {ENDOFTEXT: 100257, FIM_PREFIX: 100258, FIM_MIDDLE: 100259, FIM_SUFFIX: 100260, ENDOFPROMPT: 100276}


def build_encoding(encoding_name: str = "cl100k_base") -> tiktoken.Encoding:
    """Build the tiktoken Encoding from quicktok's bundled ranks (no network, no tiktoken cache)."""
    if encoding_name not in SUPPORTED_ENCODINGS:
        raise ValueError(
            f"Encoding {encoding_name!r} is not available offline. Use one of: {', '.join(SUPPORTED_ENCODINGS)}."
        )
    import quicktok
    import tiktoken

    source: Any = quicktok.get_encoding(encoding_name)
    # token_byte_values() is the base vocabulary indexed by rank; its length is the vocabulary size (100256).
    size = len(source.token_byte_values())
    ranks = {source.decode_single_token_bytes(rank): rank for rank in range(size)}
    if len(ranks) != size:
        raise ValueError(f"quicktok's {encoding_name} vocabulary has duplicate tokens; reinstall quicktok-v1.")
    return tiktoken.Encoding(
        name=encoding_name,
        pat_str=CL100K_PAT_STR,
        mergeable_ranks=ranks,
        special_tokens=_cl100k_special_tokens(),
    )


class TiktokenCounter:
    """Counts cl100k tokens; the encoding is built on first use, once, and shared by all threads."""

    def __init__(self, encoding_name: str = "cl100k_base") -> None:
        if encoding_name not in SUPPORTED_ENCODINGS:
            raise ValueError(
                f"Encoding {encoding_name!r} is not available offline. Use one of: {', '.join(SUPPORTED_ENCODINGS)}."
            )
        self.encoding_name = encoding_name
        self._encoding: tiktoken.Encoding | None = None
        self._lock = threading.Lock()

    @property
    def encoding(self) -> tiktoken.Encoding:
        if self._encoding is None:
            with self._lock:
                if self._encoding is None:
                    logger.debug("Building the %s encoding from quicktok", self.encoding_name)
                    self._encoding = build_encoding(self.encoding_name)
        return self._encoding

    def count(self, text: str) -> int:
        # encode_ordinary: a document that happens to contain "<|endoftext|>" is counted as text, not rejected.
        return len(self.encoding.encode_ordinary(text))

    def clear(self) -> None:
        """Drop the built encoding (it is rebuilt on the next count)."""
        with self._lock:
            self._encoding = None

    def __call__(self, text: str) -> int:
        return self.count(text)
