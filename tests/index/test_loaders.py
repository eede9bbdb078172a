from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from index.errors import CorpusError, IndexingError, LoadError, UnreadableError
from index.loaders import (SUPPORTED_SUFFIXES, LoadedDocument, Skipped, SourceFile, _markdown_text, discover_files,
                           load_file)
from tests.index.pdfmaker import make_pdf


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _load(path: Path) -> LoadedDocument:
    return load_file(SourceFile(path=path, root=path.parent, source=path.name))


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------------------- discovery

def test_discover_walks_sorted_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    _write(tmp_path / "b.txt", "b")
    _write(tmp_path / "a.md", "a")
    _write(tmp_path / "sub" / "c.html", "<p>c</p>")
    _write(tmp_path / "sub" / "d.PDF", b"%PDF")
    _write(tmp_path / ".hidden.txt", "secret")
    _write(tmp_path / ".git" / "e.txt", "git internals")
    _write(tmp_path / "sub" / ".cache" / "f.txt", "cache")
    _write(tmp_path / "notes.docx", b"PK")
    _write(tmp_path / "image.png", b"\x89PNG")

    files = discover_files([tmp_path])

    assert [f.source for f in files] == ["a.md", "b.txt", "sub/c.html", "sub/d.PDF"]
    root = tmp_path.resolve()
    assert all(f.root == root and f.path == root / f.source and f.path.is_absolute() for f in files)


def test_discover_accepts_a_single_file_and_drops_duplicates(tmp_path: Path) -> None:
    single = _write(tmp_path / "one.txt", "one")
    files = discover_files([single, tmp_path])
    assert [(f.source, f.path) for f in files] == [("one.txt", single.resolve())]
    assert files[0].source == "one.txt"


@pytest.mark.timeout(60)  # opening the pipe would wait forever
def test_discover_leaves_out_pipes_and_broken_links_unopened_and_says_why(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Alpha")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "link.md").symlink_to(tmp_path / "missing.md")
    os.mkfifo(tmp_path / "fifo.bin")  # unsupported suffix: not looked at

    skipped: list[Skipped] = []
    files = discover_files([tmp_path], skipped=skipped)

    root = tmp_path.resolve()
    assert [f.source for f in files] == ["a.txt"]
    assert skipped == [
        Skipped(root / "link.md", f"{root / 'link.md'} is a broken link to {root / 'missing.md'}: its target does "
                                  "not exist; skipped. Fix or remove the link."),
        Skipped(root / "pipe.txt", f"{root / 'pipe.txt'} is a named pipe, not a regular file; skipped without "
                                   "opening it."),
    ]
    # Given directly, a pipe is left out too; and reading one refuses without opening it.
    assert discover_files([tmp_path / "pipe.txt", tmp_path / "a.txt"], skipped=skipped)[0].source == "a.txt"
    assert skipped[-1].path == root / "pipe.txt"
    with pytest.raises(UnreadableError, match="is a named pipe, not a regular file"):
        _load(root / "pipe.txt")


def test_discover_reports_a_folder_it_cannot_list_and_goes_on(
    tmp_path: Path, lock: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "a.txt", "Alpha")
    _write(tmp_path / "locked" / "b.txt", "Beta")
    _write(tmp_path / "only" / "c.txt", "Gamma")
    lock(tmp_path / "locked")
    lock(tmp_path / "only")

    skipped: list[Skipped] = []
    with caplog.at_level(logging.WARNING):
        files = discover_files([tmp_path], skipped=skipped)
        # A folder holding nothing that can be listed is not "no supported files": it is reported, not refused.
        assert discover_files([tmp_path / "only"], skipped=skipped) == []
    root = tmp_path.resolve()
    assert [f.source for f in files] == ["a.txt"]
    assert [s.message for s in skipped] == [
        f"{folder} cannot be listed (Permission denied); skipped. Make it readable: `chmod a+rx {folder}`."
        for folder in (root / "locked", root / "only", root / "only")]
    assert not caplog.records  # for the caller to report, once


def test_discover_missing_folder_names_it_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(CorpusError) as caught:
        discover_files([missing])
    assert _one_line(caught.value) == (
        f"Corpus folder {missing} does not exist. Pass an existing folder: bot index PATH"
    )


@pytest.mark.parametrize("extra", [None, "notes.docx", ".hidden.txt"])
def test_discover_folder_without_supported_files(tmp_path: Path, extra: str | None) -> None:
    if extra:
        _write(tmp_path / extra, "x")
    with pytest.raises(CorpusError) as caught:
        discover_files([tmp_path])
    message = _one_line(caught.value)
    assert str(tmp_path) in message
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)
    assert isinstance(caught.value, IndexingError)


def test_a_file_of_another_kind_given_by_name_is_reported_skipped(tmp_path: Path) -> None:
    """`bot index notes.docx` said "No supported files in notes.docx ... or pass another folder", and beside a
    folder (`bot index corpus notes.docx`) it was passed over without a word."""
    docx = _write(tmp_path / "notes.docx", b"PK")
    story = _write(tmp_path / "story.txt", "Headline\n\nText.\n")
    skipped: list[Skipped] = []
    assert [f.source for f in discover_files([story, docx], skipped=skipped)] == ["story.txt"]
    assert [item.message for item in skipped] == [
        f"{docx} is not a kind of file `bot index` reads (it reads {' '.join(SUPPORTED_SUFFIXES)}); skipped."]
    skipped.clear()
    assert discover_files([docx], skipped=skipped) == [] and len(skipped) == 1


# --------------------------------------------------------------------------------------------- each kind

def test_load_text_normalizes_newlines_and_hashes_bytes(tmp_path: Path) -> None:
    raw = "Title\r\n\r\nFirst line.\r\nSecond line.\r\n".encode()
    doc = _load(_write(tmp_path / "a.txt", raw))
    assert doc.kind == "text"
    assert doc.text == "Title\n\nFirst line.\nSecond line."
    assert doc.title is None and doc.page_starts == () and doc.warnings == ()
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()


def test_load_utf8_bom_is_dropped(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path / "a.txt", b"\xef\xbb\xbfCaf\xc3\xa9 news"))
    assert doc.text == "Café news" and doc.warnings == ()


def test_load_markdown_takes_title_and_drops_link_markup(tmp_path: Path) -> None:
    text = "# River Report\n\nRead the [full story](https://example.com/x) and **act now**.\n"
    doc = _load(_write(tmp_path / "r.md", text))
    assert doc.kind == "markdown"
    assert doc.title == "River Report"
    assert "Read the full story and act now." in doc.text
    assert "https://" not in doc.text


MARKDOWN_LINKS = """# Port news

The port grew in 2023. See [the ministry](https://example.org/x) for details. Ships came in.
Read [the wiki page](https://en.wikipedia.org/wiki/Port_(Nantong) "Port (Nantong)") and [the
annual report](<https://example.org/annual report.pdf>) today.
Do not [click here](javascript:alert(document.cookie)) now.
![A crane at dawn](img/crane.png "The crane") stands by [![the quay](q.png)](https://example.org/quay).
The [harbour master][hm] spoke, as did [the Mayor][] and [Customs]. A note [sic] stays.
Write to <press@example.org> or see <https://example.org/y>. Or <javascript:alert(1)> nothing.

[hm]: https://example.org/hm "Harbour master"
[the mayor]: <https://example.org/mayor>
  [customs]: https://example.org/customs
"""


def test_load_markdown_keeps_link_text_and_drops_every_target(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path / "port.md", MARKDOWN_LINKS))
    assert doc.title == "Port news"
    assert doc.text.splitlines()[2:8] == [
        "The port grew in 2023. See the ministry for details. Ships came in.",
        "Read the wiki page and the annual report today.",  # (a link's text wrapped in the source is one phrase)
        "Do not click here now.",
        "A crane at dawn stands by the quay.",
        "The harbour master spoke, as did the Mayor and Customs. A note [sic] stays.",
        "Write to press@example.org or see https://example.org/y. Or  nothing.",
    ]
    assert doc.text.rstrip().endswith("nothing.")  # the reference definitions are gone
    for markup in ("](", "][", "javascript", "img/", ".png", "<", ">", "[hm]", "Harbour master\""):
        assert markup not in doc.text, markup


MARKDOWN_FOOTNOTES = """# Port expands

The port handled 3 million containers in 2023.[^volume] Its new quay opens in May.[^2] A stray [^9] stays.

[^volume]: Figures from the [port authority](https://example.org/port) annual review,
    published in January.

    The review counts empty containers too.
[^2]: The quay's date is provisional.

Ships came in.
"""


def test_load_markdown_keeps_footnote_text_and_drops_its_markers(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path / "port.md", MARKDOWN_FOOTNOTES))
    assert doc.text.split("\n\n")[1:] == [
        "The port handled 3 million containers in 2023. Its new quay opens in May. A stray [^9] stays.",
        "Figures from the port authority annual review,\npublished in January.",
        "The review counts empty containers too.\nThe quay's date is provisional.",
        "Ships came in.",
    ]


def test_load_markdown_front_matter_title(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path / "r.markdown", "---\ntitle: \"Port news\"\ndate: 2024-02-03\n---\nShips came in.\n"))
    assert doc.title == "Port news"
    assert doc.text == "Ships came in."


def test_load_html_visible_text_in_paragraphs(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Harbour opens | Daily Site</title>
    <meta property="article:published_time" content="2024-03-05T08:00:00Z">
    <style>p { color: red }</style><script>var hidden = 1;</script></head>
    <body><nav>Home | News</nav><header>Site banner</header>
    <h1>Harbour opens</h1><p>The new harbour opened on Monday.
    It has <b>three</b> berths.</p><div>Ships arrived<br>at dawn.</div>
    <noscript>Enable JS</noscript><template><p>Template text</p></template>
    <footer>Copyright</footer><!-- a comment --></body></html>"""
    doc = _load(_write(tmp_path / "page.html", html))
    assert doc.kind == "html"
    assert doc.title == "Harbour opens"
    assert (doc.published, doc.published_time) == ("2024-03-05", "08:00:00Z")
    assert doc.text == "Harbour opens\n\nThe new harbour opened on Monday. It has three berths.\n\nShips arrived\nat dawn."
    for hidden in ("var hidden", "color", "Home", "Site banner", "Enable JS", "Template text", "Copyright", "comment"):
        assert hidden not in doc.text


def test_load_html_title_falls_back_to_h1(tmp_path: Path) -> None:
    doc = _load(_write(tmp_path / "page.htm", "<body><h1>Only a heading</h1><p>Text.</p></body>"))
    assert doc.title == "Only a heading"


def test_load_html_declared_charset(tmp_path: Path) -> None:
    raw = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9 opens.</p></body></html>'.encode("latin-1")
    doc = _load(_write(tmp_path / "page.html", raw))
    assert doc.text == "Café opens." and doc.warnings == ()


def test_load_pdf_pages_and_page_starts(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf", [["Annual Report", "Sales rose."], [], ["Page three text."]])
    doc = _load(path)
    assert doc.kind == "pdf"
    assert doc.title is None
    assert doc.text == "Annual Report\nSales rose.\n\nPage three text."
    assert len(doc.page_starts) == 3
    assert doc.page_starts[0] == 0
    assert doc.text[doc.page_starts[2]:] == "Page three text."
    assert doc.page_starts[1] == doc.page_starts[2]  # the empty page 2 holds no text


# --------------------------------------------------------------------------------------------- failures

def test_non_utf8_text_is_kept_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path / "old.txt", "Caf\xe9 \u201cquoted\u201d".encode("cp1252"))
    doc = _load(path)
    assert doc.text == "Café “quoted”"
    assert doc.warnings == (f"{path} is not UTF-8; read as Windows-1252. Re-save it as UTF-8 to be sure.",)


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    path = _write(tmp_path / "odd.txt", b"A\x81B \xe9")
    doc = _load(path)
    assert doc.text == "A\x81B é"
    assert "read as Latin-1" in doc.warnings[0]


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary\x00", b"\x00\x01binary now"])  # (no UTF-16 either)
def test_binary_file(tmp_path: Path, content: bytes) -> None:
    path = _write(tmp_path / "data.txt", content)
    with pytest.raises(LoadError) as caught:
        _load(path)
    message = _one_line(caught.value)
    assert message.startswith(str(path)) and "binary" in message


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  "])
def test_empty_or_whitespace_file(tmp_path: Path, content: bytes) -> None:
    path = _write(tmp_path / "empty.md", content)
    with pytest.raises(LoadError) as caught:
        _load(path)
    assert _one_line(caught.value) == f"{path} is empty. Add text to it or remove it from the corpus."


def test_html_without_visible_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "blank.html", "<html><script>x()</script><nav>menu</nav></html>")
    with pytest.raises(LoadError, match="no visible text"):
        _load(path)


def test_directory_named_like_a_file(tmp_path: Path) -> None:
    path = tmp_path / "folder.txt"
    path.mkdir()
    with pytest.raises(LoadError) as caught:
        _load(path)
    assert _one_line(caught.value).startswith(f"{path} is a folder")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "locked.txt", "secret")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # Tests may run as root, where chmod 000 does not stop reads.
    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(LoadError) as caught:
        _load(path)
    message = _one_line(caught.value)
    assert message.startswith(str(path)) and "permission denied" in message


def test_a_text_file_named_pdf_is_said_to_be_no_pdf(tmp_path: Path) -> None:
    """It was "not a readable PDF (PdfStreamError: Stream has ended unexpectedly)"."""
    path = _write(tmp_path / "fake.pdf", b"this is not a pdf at all")
    with pytest.raises(LoadError) as caught:
        _load(path)
    message = _one_line(caught.value)
    assert message.startswith(f"{path} is not a PDF file") and "Error" not in message


def test_broken_pdf(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    with pytest.raises(LoadError) as caught:
        _load(path)
    message = _one_line(caught.value)
    assert message.startswith(f"{path} is not a readable PDF")


def test_a_damaged_pdf_is_one_report_without_pypdf_log_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", [["The bridge opened in 2008."]]).read_bytes()
    path = _write(tmp_path / "cut.pdf", whole[: len(whole) // 2])
    with caplog.at_level(logging.DEBUG), pytest.raises(LoadError) as caught:
        _load(path)
    assert _one_line(caught.value).startswith(f"{path} is not a readable PDF")
    # pypdf's own lines ("EOF marker not found") go to our debug log only.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("EOF marker not found" in r.getMessage() for r in caplog.records if r.name == "index.loaders")


def test_pdf_without_text(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [[], []])
    with pytest.raises(LoadError) as caught:
        _load(path)
    assert _one_line(caught.value).startswith(f"{path} has no extractable text")


@pytest.mark.parametrize("tail", ["[^" * 50000, "[^1" * 34000, "[^1] " * 20000])
def test_footnote_markers_are_found_in_linear_time(tail: str) -> None:
    # A label that could hold "[" was tried from every "[^" to the end: 10 s on 40 KB of "[^[^[^".
    started = time.perf_counter()
    _markdown_text("[^1]: note\n\n" + tail)
    assert time.perf_counter() - started < 1.0


def test_discover_skips_links_to_the_corpus_or_a_folder_around_it_and_says_why(tmp_path: Path) -> None:
    """`corpus/up -> ..` indexed everything beside the corpus (outside/secret/hr.txt)."""
    base = tmp_path.resolve()
    corpus = base / "corpus"
    _write(corpus / "a.txt", "Alpha")
    _write(base / "outside" / "secret" / "hr.txt", "Salaries")
    _write(base / "elsewhere" / "b.txt", "Beta")
    (base / "elsewhere" / "back").symlink_to(base / "elsewhere")  # a loop inside a followed folder
    (corpus / "up").symlink_to("..")
    (corpus / "self").symlink_to(corpus)
    (corpus / "top").symlink_to("/")
    (corpus / "linked").symlink_to(base / "elsewhere")  # a folder elsewhere, not holding the corpus: followed

    skipped: list[Skipped] = []
    files = discover_files([corpus], skipped=skipped)

    assert [f.source for f in files] == ["a.txt", "linked/b.txt"]
    assert [s.path for s in skipped] == [corpus / "self", corpus / "top", corpus / "up", corpus / "linked" / "back"]
    assert skipped[2].message == (f"{corpus / 'up'} is a link to {base}, a folder around it; skipped, as following it "
                                  f"would loop or read beyond {corpus}.")
    assert all("\n" not in s.message for s in skipped)


# --------------------------------------------------------------------------------------------- encodings

NEWS_ZH = ("南通港新码头开港\n\n发布时间：2024年5月14日\n\n南通港新码头今天正式开港，年吞吐量达到五百万吨。"
           "市长表示，这将促进长江口地区的经济发展。")


@pytest.mark.parametrize(("encoding", "text", "label"), [
    ("gbk", NEWS_ZH, "GB18030"),  # GB18030 reads all of GBK
    ("gb18030", NEWS_ZH, "GB18030"),
    ("big5", "香港新碼頭今天正式開港，每年吞吐量達到五百萬噸。市長表示，這將促進地區的經濟發展。", "BIG5"),
    ("shift_jis", "東京の新しい港が開港しました。今日、市長は経済発展を約束した。", "CP932"),
    ("cp1251", "Новый порт открылся в Санкт-Петербурге. Мэр обещал экономическое развитие.", "CP1251"),
])
def test_text_in_a_cjk_or_other_encoding_is_read_in_it(tmp_path: Path, encoding: str, text: str, label: str) -> None:
    """A GBK file was indexed as Windows-1252 mojibake ("ÄÏÍ¨¸ÛÐÂÂëÍ·¿ª¸Û"): nothing in it could be found."""
    path = _write(tmp_path / "news.txt", text.encode(encoding))
    doc = _load(path)
    assert doc.text == text.strip()
    assert doc.warnings == (f"{path} is not UTF-8; read as {label}. Re-save it as UTF-8 to be sure.",)


def test_western_text_stays_windows_1252(tmp_path: Path) -> None:
    text = "Café Müller opened in Zürich. Zoë Brontë said the coffee was très bon; the façade is from 1890.\n"
    path = _write(tmp_path / "cafe.txt", text.encode("cp1252"))
    assert (_load(path).text, "read as Windows-1252" in _load(path).warnings[0]) == (text.strip(), True)


def test_random_bytes_without_nul_are_skipped_in_one_line(tmp_path: Path) -> None:
    """4 KB of random bytes were "read as Latin-1" and indexed as 19 chunks of garbage, titled in `bot sources`."""
    noise = bytes((n * 151 + 7) % 255 + 1 for n in range(4096))  # every byte but NUL, in no language
    path = _write(tmp_path / "noise.txt", noise)
    with pytest.raises(LoadError) as caught:
        _load(path)
    assert _one_line(caught.value) == (f"{path} is not text in any encoding (it looks binary); skipped. Remove it "
                                       "from the corpus or save it as plain text (UTF-8).")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_and_said(tmp_path: Path, encoding: str) -> None:
    """It was "looks binary (it contains NUL bytes)": it is text, saved so by some Windows tools."""
    text = "Late trams return to Port Alder\n\nRelease time: May 2, 2024\n\nTrams run until 1 a.m. in Zürich too.\n"
    path = _write(tmp_path / "trams.txt", text.encode(encoding))
    doc = _load(path)
    assert doc.text == text.strip()
    assert doc.warnings == (f"{path} is UTF-16 without a byte-order mark; read as {encoding.upper()}. Re-save it as "
                            "UTF-8 to be sure.",)
    chinese = _write(tmp_path / "zh.txt", NEWS_ZH.encode(encoding))
    assert _load(chinese).text == NEWS_ZH


def test_front_matter_date_and_author_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "tidy.md", "---\ntitle: Tidy Towns\ndate: 2024-09-30\nauthor: Marco Ruiz\n"
                                        "editor: 'Jane Whitlock'\nsource: [Courier]\n---\n\nPort Alder won.\n")
    doc = _load(path)
    assert (doc.title, doc.published, doc.published_time, dict(doc.byline), doc.text) == (
        "Tidy Towns", "2024-09-30", None, {"author": "Marco Ruiz", "editor": "Jane Whitlock", "agency": "Courier"},
        "Port Alder won.")
