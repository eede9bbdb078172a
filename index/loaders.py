"""Find the corpus files and read each one into plain text (txt, Markdown, HTML, PDF)."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import CorpusError, LoadError, UnreadableError

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
_KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
          ".pdf": "pdf"}


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    root: Path  # absolute corpus root it was found under (the file itself when it was given directly)
    source: str  # POSIX path relative to root (for a single file given directly: its name)


@dataclass(frozen=True)
class Skipped:
    """Left out of the corpus without being read: a folder that cannot be listed, or an entry that is not a regular
    file (a named pipe, a socket, a device, a broken link). What was indexed from under `path` is kept."""

    path: Path  # absolute
    message: str  # one line, starting with the path
    folder: bool = False  # a folder that cannot be listed (not a file that was found)


@dataclass(frozen=True)
class LoadedDocument:
    file: SourceFile
    text: str
    kind: str  # "text" | "markdown" | "html" | "pdf"
    title: str | None
    page_starts: tuple[int, ...]
    warnings: tuple[str, ...]
    sha256: str
    # ISO date from HTML metadata (<meta property="article:published_time">, <time datetime>), else None; and its
    # time of day as written ("08:00:00Z"), when it gives one.
    published: str | None = None
    published_time: str | None = None
    # Offsets of line breaks in `text` that are soft wraps however short their line now is (Markdown whose link
    # targets were taken out); the chunker does not end a sentence there.
    soft_breaks: tuple[int, ...] = ()
    # Byline from Markdown front matter ({"author": "Marco Ruiz"}); an article's own byline lines win.
    byline: Mapping[str, str] = field(default_factory=dict, hash=False)


# --------------------------------------------------------------------------------------------- discovery

def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def discover_files(roots: Sequence[Path], *, skipped: list[Skipped] | None = None) -> list[SourceFile]:
    """Every supported, non-hidden regular file under the roots (folders walked recursively, sorted; a root may be a
    file), each once however many links reach it: at its own path when it is reached that way too. What is left
    out unread (see Skipped) is added to `skipped`, or logged as a warning without it."""
    if not roots:
        raise CorpusError("No corpus folder was given. Pass a folder: bot index PATH")
    found: list[SourceFile] = []
    seen: dict[str, int] = {}  # the real path of each file found -> its place in `found`
    passed: list[Skipped] = []
    for given in roots:
        root = Path(given).expanduser().resolve()
        try:
            mode = root.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise CorpusError(
                f"Corpus folder {given} does not exist. Pass an existing folder: bot index PATH") from None
        except OSError as exc:  # a folder on the way to it cannot be searched
            passed.append(_unlistable(root, exc))
            continue
        if stat.S_ISDIR(mode):
            files = [SourceFile(path=p, root=root, source=p.relative_to(root).as_posix())
                     for p in _walk(root, passed)]
        elif stat.S_ISREG(mode):
            # A file given directly is its own root, so re-indexing it never touches its neighbours.
            files = [SourceFile(path=root, root=root, source=root.name)] if _is_supported(root) else []
            if not files:  # named on purpose: not to be passed over without a word
                passed.append(Skipped(root, f"{root} is not a kind of file `bot index` reads (it reads "
                                            f"{' '.join(SUPPORTED_SUFFIXES)}); skipped."))
        else:
            passed.append(Skipped(root, _not_regular(root, mode)))
            files = []
        for file in files:
            real = os.path.realpath(file.path)
            if real not in seen:
                seen[real] = len(found)
                found.append(file)
            elif str(file.path) == real and str(found[seen[real]].path) != real:
                found[seen[real]] = file  # a link to it came first; the file itself is what to index
    if skipped is None:
        for item in passed:
            logger.warning("%s", item.message)
    else:
        skipped.extend(passed)
    if not found and not passed:
        names = ", ".join(str(r) for r in roots)
        raise CorpusError(
            f"No supported files in {names}. Add files ending in {' '.join(SUPPORTED_SUFFIXES)} or pass another folder."
        )
    return found


def _walk(root: Path, skipped: list[Skipped]) -> list[Path]:
    """The candidate files under `root`, sorted. A linked folder is walked after the folders themselves, and a folder
    only once however it is reached; a link to a folder around it (or around the root) is skipped, see _around."""
    paths: list[Path] = []
    walked: set[str] = set()
    tops: list[Path] = [root]
    linked: list[Path] = []

    def unlistable(exc: OSError) -> None:
        skipped.append(_unlistable(Path(exc.filename) if exc.filename else root, exc))

    while tops:
        for folder, dirnames, filenames in os.walk(tops.pop(0), onerror=unlistable):
            if (real := os.path.realpath(folder)) in walked:
                dirnames[:] = []
                continue
            walked.add(real)
            # Hidden folders (.git, .bot, ...) are pruned in place so os.walk never enters them; linked ones wait.
            names = sorted(d for d in dirnames if not d.startswith("."))
            dirnames[:] = [d for d in names if not os.path.islink(os.path.join(folder, d))]
            for name in names:
                if name not in dirnames:
                    if (problem := _around(Path(folder) / name, root, real)) is None:
                        linked.append(Path(folder) / name)
                    else:
                        skipped.append(Skipped(Path(folder) / name, problem))
            paths.extend(_candidates(Path(folder), filenames, skipped))
        if not tops:
            tops, linked = linked, []
    return paths


def _around(link: Path, root: Path, folder: str) -> str | None:
    """Why the linked folder `link` (in the folder whose real path is `folder`) must not be followed, or None: it
    leads to the root being indexed or a folder around it (everything beside the corpus would be indexed), or to the
    folder it sits in or one around that (a loop up and out). A link to a folder elsewhere is followed."""
    target = Path(os.path.realpath(link))
    if root.is_relative_to(target) or Path(folder).is_relative_to(target):
        return (f"{link} is a link to {target}, a folder around it; skipped, as following it would loop or read "
                f"beyond {root}.")
    return None


def _candidates(folder: Path, filenames: Sequence[str], skipped: list[Skipped]) -> list[Path]:
    paths: list[Path] = []
    for name in sorted(filenames):
        path = folder / name
        if name.startswith("."):
            continue
        if not _is_supported(path):
            logger.debug("Skipping %s: unsupported suffix", path)
            continue
        if (problem := _not_a_file(path)) is not None:
            skipped.append(Skipped(path, problem))
            continue
        paths.append(path)
    return paths


def _unlistable(folder: Path, exc: OSError) -> Skipped:
    return Skipped(folder, f"{folder} cannot be listed ({exc.strerror or exc}); skipped. Make it readable: "
                           f"`chmod a+rx {folder}`.", folder=True)


_KIND_NAMES = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
               (stat.S_ISBLK, "a device"))


def _not_regular(path: Path, mode: int) -> str:
    kind = next((name for test, name in _KIND_NAMES if test(mode)), "something else")
    return f"{path} is {kind}, not a regular file; skipped without opening it."


def _not_a_file(path: Path) -> str | None:
    """Why `path` must not be opened (it is not a regular file: reading a named pipe waits forever; or it is a link
    to nothing), or None. A folder, or a path that cannot be looked at, is left to reading, which says why."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.is_symlink():
            return None
        try:
            target = f" to {os.readlink(path)}"
        except OSError:
            target = ""
        return f"{path} is a broken link{target}: its target does not exist; skipped. Fix or remove the link."
    except OSError:
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else _not_regular(path, mode)


def read_bytes(path: Path) -> bytes:
    """A corpus file's bytes. Raises UnreadableError, without opening it, for anything but a regular file, and for
    a file that cannot be read now; LoadError for a folder."""
    if (problem := _not_a_file(path)) is not None:
        raise UnreadableError(problem)
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise LoadError(f"{path} is a folder, not a file. Pass the folder itself as the corpus.") from None
    except PermissionError:
        raise UnreadableError(
            f"{path} cannot be read (permission denied); skipped. Make it readable: `chmod a+r {path}`.") from None
    except OSError as exc:
        raise UnreadableError(f"{path} cannot be read ({exc.strerror or exc}); skipped. Check the file.") from None


# --------------------------------------------------------------------------------------------- loading

def load_file(file: SourceFile) -> LoadedDocument:
    """Read one file into text; raises LoadError (message starts with the path) when it has no usable text."""
    path = file.path
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"{path} has an unsupported suffix. Use one of: {' '.join(SUPPORTED_SUFFIXES)}.")
    data = read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    if kind == "pdf":
        with _library_logs_to_debug(path, "pypdf"):
            text, page_starts, warnings = _pdf_text(path, data)
        return LoadedDocument(file=file, text=text, kind=kind, title=None, page_starts=page_starts,
                              warnings=tuple(warnings), sha256=sha)
    raw, warnings = _decode(path, data, html=kind == "html")
    title: str | None = None
    published: tuple[str, str | None] | None = None
    soft_breaks: tuple[int, ...] = ()
    byline: dict[str, str] = {}
    if kind == "html":
        text, title, published = _html_text(raw)
        if not text.strip():
            raise LoadError(f"{path} has no visible text. Remove it from the corpus or add text to it.")
    else:
        text = _normalize_newlines(raw)
        if not text.strip():
            raise LoadError(f"{path} is empty. Add text to it or remove it from the corpus.")
        if kind == "markdown":
            published, byline = _front_matter_meta(text)
            text, title, soft_breaks = _markdown_text(text)
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    return LoadedDocument(file=file, text=stripped, kind=kind, title=title, page_starts=(),
                          warnings=tuple(warnings), sha256=sha, published=published[0] if published else None,
                          published_time=published[1] if published else None,
                          soft_breaks=tuple(b - lead for b in soft_breaks if 0 <= b - lead < len(stripped)),
                          byline=byline)


class _DebugHandler(logging.Handler):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        logger.debug("%s: %s: %s", self.path, record.name, record.getMessage())


@contextmanager
def _library_logs_to_debug(path: Path, name: str) -> Iterator[None]:
    """A parsing library's own log lines about one file (pypdf's "EOF marker not found") go to this module's debug
    log instead of the terminal: what matters about the file is reported once, in our own line."""
    library = logging.getLogger(name)
    handler, propagate = _DebugHandler(path), library.propagate
    library.addHandler(handler)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.propagate = propagate


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode(path: Path, data: bytes, *, html: bool) -> tuple[str, list[str]]:
    """UTF-8 (or a BOM's encoding); otherwise the HTML's declared charset; otherwise Windows-1252 when it reads as
    Western text, else a detected encoding (GBK, Big5, Shift-JIS, ...) that reads as text, with a warning. Bytes
    that read as no text are refused: before, Chinese text was indexed as Windows-1252 mojibake ("ÄÏÍ¨¸Û") and
    random bytes as Latin-1, nothing in either to be found."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), []
            except UnicodeDecodeError:
                break
    if not data.strip():
        raise LoadError(f"{path} is empty. Add text to it or remove it from the corpus.")
    if b"\x00" in data:
        return _decode_utf16_without_bom(path, data)
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    if html and (match := _CHARSET.search(data[:4096])):
        try:
            return data.decode(match.group(1).decode("ascii")), []
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        text = data.decode("cp1252")
        label = "Windows-1252"
    except UnicodeDecodeError:
        # Five bytes are undefined in Windows-1252; Latin-1 maps every byte, so no text is lost.
        text = data.decode("latin-1")
        label = "Latin-1"
    if not (_reads_as_text(text) and _reads_as_western(text)):
        text, label = _detected(path, data, binary=not _reads_as_text(text))
    return text, [_warned(f"{path} is not UTF-8; read as {label}. Re-save it as UTF-8 to be sure.")]


def _warned(warning: str) -> str:
    logger.debug(warning)  # returned to the caller, which reports it once
    return warning


def _decode_utf16_without_bom(path: Path, data: bytes) -> tuple[str, list[str]]:
    """Text with NUL bytes in every other place is UTF-16 without a byte-order mark (as some Windows tools save
    it), not binary; it is read, with a warning. Anything else with NUL bytes is binary."""
    even, odd = data[0::2].count(0), data[1::2].count(0)
    encoding = "utf-16-le" if odd > 4 * even else "utf-16-be" if even > 4 * odd else None
    if encoding is not None and len(data) % 2 == 0:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = ""
        if text.strip() and _reads_as_text(text, stray=0):  # (binary read so is full of control characters)
            return text, [_warned(f"{path} is UTF-16 without a byte-order mark; read as {encoding.upper()}. Re-save "
                                  "it as UTF-8 to be sure.")]
    raise LoadError(
        f"{path} looks binary (it contains NUL bytes), not text. Remove it from the corpus or save it as plain text."
    )


def _reads_as_text(text: str, *, stray: int = 2) -> bool:
    """Few control characters (random bytes read as Latin-1 are one in five): at most one in a hundred, or `stray`
    in a short text (a stray one may be a typo)."""
    import unicodedata

    odd = sum(1 for char in text if char not in "\t\n\r\f" and unicodedata.category(char) in ("Cc", "Cn", "Co", "Cs"))
    return odd <= max(stray, len(text) // 100 if stray else 0)


def _reads_as_western(text: str) -> bool:
    """Windows-1252 read right: its accented letters sit among plain ones ("Café Müller"). Text in a CJK encoding
    read so is almost all accented letters and symbols ("ÄÏÍ¨¸ÛÐÂÂëÍ·¿ª¸Û")."""
    shown = [char for char in text if not char.isspace()]
    accented = sum(1 for char in shown if not char.isascii())
    return accented < 8 or accented <= len(shown) * 0.3


# Encodings whose text Windows-1252 turns into mojibake; UTF-16/32 are told by their NUL bytes instead.
_DETECTABLE = ["gb18030", "big5", "cp932", "euc_jp", "cp949", "cp1251", "koi8_r", "cp1253", "iso8859_7", "cp1250",
               "cp1257", "cp1254", "cp1255", "cp1256", "tis_620", "cp1258"]


def _detected(path: Path, data: bytes, *, binary: bool) -> tuple[str, str]:
    """The text in the encoding charset-normalizer finds among _DETECTABLE, and that encoding's name; LoadError
    when none reads as text (`binary`: nor did Windows-1252, so the file is not text at all)."""
    if binary:
        fix = (f"{path} is not text in any encoding (it looks binary); skipped. Remove it from the corpus or save it "
               "as plain text (UTF-8).")
    else:
        fix = (f"{path} is not UTF-8, and its encoding could not be told (Chinese GBK or Big5? Japanese Shift-JIS?); "
               "skipped. Re-save it as UTF-8.")
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # (it comes with requests; without it, nothing is guessed)
        raise LoadError(fix) from None
    best = from_bytes(data, cp_isolation=_DETECTABLE).best()
    if best is None:
        raise LoadError(fix)
    text = str(best)
    if not _reads_as_text(text):
        raise LoadError(fix)
    return text, best.encoding.upper().replace("_", "-")


# --- Markdown

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title\s*:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)
# Link text: no brackets but one nested pair ("[the [new] ministry]"), and it may wrap onto the next line.
_MD_TEXT = r"((?:[^\[\]\n]|\n(?![ \t]*\n)|\[[^\[\]\n]*\])*)"
# A link's or image's target: `<...>`, or a URL with balanced parentheses ("wiki/X_(y)", "javascript:alert(1)"),
# then an optional title ("...", '...' or (...)).
_MD_TARGET = (r"""\(\s*(?:<[^<>\n]*>|(?:[^()\s]|\((?:[^()\s]|\([^()\s]*\))*\))*)"""
              r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?\s*\)""")
_MD_INLINE = re.compile(r"!?\[" + _MD_TEXT + r"\]" + _MD_TARGET)
# [text][label] and [text][]: a reference link (or image) whose target is defined elsewhere in the file.
_MD_REFERENCE = re.compile(r"!?\[" + _MD_TEXT + r"\]\[[^\[\]\n]*\]")
_MD_SHORTCUT = re.compile(r"!?\[" + _MD_TEXT + r"\](?![(\[:])")
_MD_REF_DEF = re.compile(r"^[ ]{0,3}\[([^\]\n]+)\]:\s*\S+.*$", re.MULTILINE)
# "[^1]: The figure comes from ..." defines the footnote that "[^1]" in the text points to.
# A label holds no bracket: "[^" repeated would otherwise be tried from every "[^" to the end (quadratic).
_MD_FOOTNOTE_DEF = re.compile(r"^[ ]{0,3}\[\^([^\[\]\s]+)\]:[ \t]*")
_MD_FOOTNOTE_REF = re.compile(r"\[\^([^\[\]\s]+)\](?!:)")
# <https://...>, <mailto:...>, <press@example.org>: what a reader sees is the address itself.
_MD_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_FENCE = re.compile(r"^[ ]{0,3}(```|~~~).*$", re.MULTILINE)
_MD_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
# Stands in, while the markup is taken out, for each character taken out of a line, so the line keeps the width it
# was laid out with (a text file holds no NUL: _decode refuses one).
_GONE = "\x00"


_FRONT_KEY = re.compile(r"^(?P<key>[A-Za-z_-]+)\s*:\s*(?P<value>.*?)\s*$", re.MULTILINE)
_FRONT_DATES = ("date", "published", "pubdate", "publishdate", "date_published", "datepublished", "published_at")
_FRONT_BYLINE = {"author": "author", "authors": "author", "by": "author", "editor": "editor", "source": "agency",
                 "publisher": "outlet"}


def _front_matter_meta(text: str) -> tuple[tuple[str, str | None] | None, dict[str, str]]:
    """The date (with its time of day) and byline that Markdown front matter gives (`date: 2024-09-30`, `author:
    Marco Ruiz`): read as nothing before, the article was undated, and `--since` left it out."""
    from index.articles import parse_published_at  # local: articles imports this module's dataclasses

    match = _FRONT_MATTER.match(text)
    if match is None:
        return None, {}
    published: tuple[str, str | None] | None = None
    byline: dict[str, str] = {}
    for line in _FRONT_KEY.finditer(match.group(1)):
        key, value = line.group("key").lower(), line.group("value").strip("\"'[] ")
        if key in _FRONT_DATES and published is None:
            published = parse_published_at(value)
        elif key in _FRONT_BYLINE and value and len(value) <= 60:
            byline.setdefault(_FRONT_BYLINE[key], value.replace('", "', ", ").replace("', '", ", "))
    return published, byline


def _markdown_text(text: str) -> tuple[str, str | None, tuple[int, ...]]:
    """Drop the markup that would be noise in a quote (links, bold, fences, comments; a footnote's marker, not its
    text); keep headings. Also: the line breaks that are soft wraps as the file was laid out, where a line is now
    much shorter than it was (a long link target gone), so the chunker does not take it for a sentence's end."""
    title = None
    if match := _FRONT_MATTER.match(text):
        if found := _FRONT_TITLE.search(match.group(1)):
            title = found.group(1).strip().strip("\"'") or None
        text = text[match.end():]
    text = _MD_COMMENT.sub(lambda m: _GONE * len(m.group(0).replace("\n", "")), text)
    text = _markdown_links(text)
    text = _MD_STRONG.sub(lambda m: m.group(2) + _GONE * (len(m.group(0)) - len(m.group(2))), text)
    text = _MD_FENCE.sub("", text)
    text, soft_breaks = _without_gaps(text)
    if title is None and (heading := _MD_H1.search(text)):
        title = heading.group(1).strip() or None
    return text, title, soft_breaks


def _without_gaps(laid_out: str) -> tuple[str, tuple[int, ...]]:
    """The text without the stand-ins for what was taken out, and the offsets of its line breaks that wrap a line
    as it was laid out but would end a sentence by the width the line has now."""
    text = laid_out.replace(_GONE, "")
    if text == laid_out:
        return text, ()
    from index.chunking import PARAGRAPH, soft_wraps  # local: the chunker is only needed here

    widths = [len(line.replace(_GONE, "").rstrip()) + line.count(_GONE) for line in laid_out.split("\n")]
    first_line = {0: 0} | {m.end(): n + 1 for n, m in enumerate(re.finditer("\n", text))}
    breaks: list[int] = []
    for paragraph in PARAGRAPH.finditer(text):
        lines = paragraph.group().split("\n")
        if len(lines) < 2 or paragraph.start() not in first_line:
            continue
        first = first_line[paragraph.start()]
        laid = widths[first:first + len(lines)]
        position = paragraph.start()
        for line, now, then in zip(lines, soft_wraps(lines), soft_wraps(lines, laid)):
            position += len(line) + 1
            if then and not now:
                breaks.append(position - 1)
    return text, tuple(breaks)


def _markdown_links(text: str) -> str:
    """Links and images as the words a reader sees: a link's text, an image's alt text, an autolink's address; the
    targets, titles and reference definitions go (a `javascript:` one too). A footnote's text stays where it is
    defined, without its label; its markers in the text go. What goes is kept in place as _GONE."""
    text, notes = _footnotes(text)
    if notes:
        text = _MD_FOOTNOTE_REF.sub(
            lambda m: _GONE * len(m.group(0)) if _reference_label(m.group(1)) in notes else m.group(0), text)
    labels = {_reference_label(m.group(1)) for m in _MD_REF_DEF.finditer(text)}
    text = _MD_REF_DEF.sub("", text)

    def link_text(match: re.Match[str]) -> str:  # one phrase, on one line even when the source wrapped it
        words = re.sub(r"[ \t]*\n[ \t]*", " ", match.group(1))
        return words + _GONE * (len(match.group(0)) - len(words))

    def shortcut(match: re.Match[str]) -> str:  # "[sic]" stays: only a defined label is a link
        return link_text(match) if _reference_label(match.group(1)) in labels else match.group(0)

    # Innermost first, until nothing changes: an image inside a link ("[![alt](src)](href)") becomes "alt".
    for _ in range(5):
        before = text
        text = _MD_INLINE.sub(link_text, text)
        text = _MD_REFERENCE.sub(link_text, text)
        if labels:
            text = _MD_SHORTCUT.sub(shortcut, text)
        if text == before:
            break

    def autolink(match: re.Match[str]) -> str:
        shown = "" if match.group(1).lower().startswith(_SCRIPT_SCHEMES) else match.group(1)
        return shown + _GONE * (len(match.group(0)) - len(shown))

    return _MD_AUTOLINK.sub(autolink, text)


def _footnotes(text: str) -> tuple[str, set[str]]:
    """Footnote definitions ("[^1]: text", its later paragraphs indented) as their text alone, and their labels."""
    lines = text.split("\n")
    labels: set[str] = set()
    in_note = False
    for n, line in enumerate(lines):
        if match := _MD_FOOTNOTE_DEF.match(line):
            labels.add(_reference_label(match.group(1)))
            lines[n] = _GONE * match.end() + line[match.end():]
            in_note = True
        elif in_note and line.strip():
            if line[:1] in (" ", "\t"):  # the note's own later lines: not indented code
                lines[n] = line[1:] if line[0] == "\t" else line[min(4, len(line) - len(line.lstrip(" "))):]
            elif not lines[n - 1].strip():  # a blank line, then unindented text: the note is over
                in_note = False
    return "\n".join(lines), labels


def _reference_label(label: str) -> str:
    return " ".join(label.split()).casefold()


# --- HTML

_DROP_TAGS = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template", "head", "title", "svg",
                        "iframe", "object", "canvas"})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "html", "li", "main",
    "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
_PARAGRAPH = "\x00P\x00"  # a marker no real text contains (NUL was rejected above)
_DATE_META = ("article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate",
              "publish-date", "date", "dc.date", "dc.date.issued", "sailthru.date", "parsely-pub-date")


def _html_text(markup: str) -> tuple[str, str | None, tuple[str, str | None] | None]:
    """Visible text with block elements as paragraphs, the title (<title> or first <h1>), and a meta date with its
    time of day."""
    from bs4 import BeautifulSoup
    from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    soup = BeautifulSoup(markup, "html.parser")
    title = _clean_inline(soup.title.get_text(" ")) if soup.title else ""
    h1_tag = soup.find("h1")
    h1 = _clean_inline(h1_tag.get_text(" ")) if h1_tag else ""
    # "Headline | Site" in <title> while <h1> holds just the headline: the <h1> is the cleaner title.
    chosen = h1 if (h1 and (not title or h1 in title)) else (title or h1)
    published = _html_published(soup)

    pieces: list[str] = []
    # Iterative walk (deeply nested pages would overflow a recursive one); ("end", tag) closes a block.
    stack: list[object] = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            pieces.append(_PARAGRAPH)
            continue
        if isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(node, NavigableString):
            in_pre = any(parent.name == "pre" for parent in node.parents)
            pieces.append(str(node) if in_pre else re.sub(r"\s+", " ", str(node)))
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "").lower()
        if name in _DROP_TAGS or node.get("hidden") is not None:
            continue
        if name == "br":
            pieces.append("\n")
            continue
        if name in _BLOCK_TAGS:
            pieces.append(_PARAGRAPH)
            stack.append(("end", name))
        stack.extend(reversed(list(node.children)))
    text = "".join(pieces)
    paragraphs = []
    for block in text.split(_PARAGRAPH):
        lines = [re.sub(r"[ \t\f\v\u00a0]+", " ", line).strip() for line in block.split("\n")]
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs), chosen or None, published


def _clean_inline(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _html_published(soup: object) -> tuple[str, str | None] | None:
    from index.articles import parse_published_at  # local: articles imports this module's dataclasses

    for meta in soup.find_all("meta"):  # type: ignore[attr-defined]
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _DATE_META and (found := parse_published_at(meta.get("content") or "")):
            return found
    for tag in soup.find_all("time"):  # type: ignore[attr-defined]
        if found := parse_published_at(tag.get("datetime") or tag.get_text(" ")):
            return found
    return None


# --- PDF

def _pdf_text(path: Path, data: bytes) -> tuple[str, tuple[int, ...], list[str]]:
    """pypdf text per page, pages joined by blank lines; page_starts[i] is where page i+1 begins; and a warning per
    page that has no readable text."""
    import pypdf

    if b"%PDF-" not in data[:1024]:  # (readers allow some bytes before the header)
        raise LoadError(f"{path} is not a PDF file (it has no PDF header); skipped. Give it the suffix of what it "
                        "holds (.txt, .html), or re-export it as PDF.")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(f"{path} is password-protected. Save an unprotected copy and index that.")
        pages = list(reader.pages)
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise LoadError(
            f"{path} is not a readable PDF ({type(exc).__name__}: {_one_line(exc)}). Re-export it or convert it to .txt."
        ) from None
    parts: list[str] = []
    starts: list[int] = []
    warnings: list[str] = []
    offset = 0
    for number, page in enumerate(pages, start=1):
        try:
            page_text = page.extract_text() or ""
        except Exception as exc:  # one bad page must not lose the rest of the document
            warnings.append(f"{path}: page {number} has no readable text ({_one_line(exc)}); the other pages are "
                            "indexed.")
            page_text = ""
        page_text = _normalize_newlines(page_text).strip()
        starts.append(offset)
        if page_text:
            parts.append(page_text)
            offset += len(page_text) + 2  # the "\n\n" that joins it to the next page
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError(
            f"{path} has no extractable text (is it a scanned PDF?). Run OCR on it or convert it to .txt."
        )
    return text, tuple(min(s, len(text)) for s in starts), warnings


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
