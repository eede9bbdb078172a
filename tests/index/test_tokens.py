from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from index.tokens import TiktokenCounter

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def counter() -> TiktokenCounter:
    return TiktokenCounter()


@pytest.fixture(autouse=True)
def no_tiktoken_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """tiktoken's own loader (download or cache) must never be used."""
    import tiktoken
    import tiktoken.load

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tiktoken tried to load a vocabulary file")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(tiktoken, "get_encoding", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse)


def test_counter_builds_nothing_until_used() -> None:
    fresh = TiktokenCounter()
    assert fresh._encoding is None
    assert fresh.count("hello world") == 2
    built = fresh.encoding
    assert fresh.encoding is built  # built once


def test_hello_world_matches_cl100k(counter: TiktokenCounter) -> None:
    assert counter.encoding.encode("hello world") == [15339, 1917]
    assert counter.encoding.name == "cl100k_base"


def test_counts_equal_quicktok_offline(counter: TiktokenCounter) -> None:
    import quicktok

    reference = quicktok.get_encoding("cl100k_base")
    texts = [
        "hello world",
        "Release time:May 14, 2024 06:53 AM",
        "Café “quoted” — 5.2% in 2024年5月14日 😀",
        "  leading spaces\n\n\ttabs and\r\nnewlines  ",
        "<|endoftext|> is counted as text",
    ] + [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    for text in texts:
        assert counter.encoding.encode_ordinary(text) == list(reference.encode_ordinary(text))
        assert counter.count(text) == reference.count(text)


def test_special_tokens_match_quicktok(counter: TiktokenCounter) -> None:
    import quicktok

    reference = quicktok.get_encoding("cl100k_base")
    for name in reference.special_tokens_set:
        assert counter.encoding.encode_single_token(name) == reference.encode_single_token(name)
    assert counter.encoding.n_vocab == reference.n_vocab


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="not available offline"):
        TiktokenCounter("p50k_base")


def test_importing_index_modules_does_no_work() -> None:
    code = (
        "import sys; import index.errors, index.loaders, index.articles, index.chunking, index.tokens; "
        "heavy = [m for m in ('bot', 'tiktoken', 'quicktok', 'pypdf', 'bs4', 'transformers', 'torch') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
