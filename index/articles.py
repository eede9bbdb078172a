"""Split a loaded file into articles: title, dateline, byline, tags and body.

The plain-text news format (see seeds/) has no markup; an article starts at
- a headline line repeated on the next line (`Headline | tag | tag` twice),
- a short standalone line whose next non-blank line is a dateline (`Release time:May 14, 2024 06:53 AM`),
- a Markdown level-1 heading (`# Headline`).
After the headline come optional dateline/byline lines; at the end optional byline lines (`Editor: X.`) and a
"Related Pages" list. A file without any of these is one article titled by its first line.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from index.loaders import LoadedDocument

logger = logging.getLogger(__name__)

MAX_HEADLINE_CHARS = 300  # a longer line is a paragraph, never a headline
MAX_STANDALONE_TITLE_CHARS = 200  # a first line this short, alone in its paragraph, is the file's headline
FALLBACK_TITLE_CHARS = 120
MAX_META_LINE_CHARS = 120
MAX_HEADER_META_LINES = 6
BYLINE_KEYS = ("editor", "reviewer", "agency", "outlet", "author")
# How files are read into articles, their metadata and sentences. A file indexed by an older version is read again
# on the next `bot index` (its unchanged chunks keep their vectors; only their metadata changes).
# 2: the dateline's time of day (published_time). 3: an HTML page's time (its published meta or <time datetime>).
# 4: a Markdown link's text alone (no stray bracket or target), and sentences that end in a web address split.
# 5: a Markdown footnote's text kept (its "[^1]" markers dropped), and a hard-wrapped line that a long link target
# was taken out of no longer ends a sentence.
# 6: a dateline naming its outlet as "by the X" ("*Published 2024-03-02 by the Ningbo Daily*") gives the date.
# 7: a headline with its dateline on the very next line, or with byline lines before the dateline, starts an article;
# a numeric date whose day and month could be either is read (see _to_iso); a PDF's dateline and byline lines, and
# Markdown front matter's date and author, fill the article's date and byline; keywords are folded ("Zoë" = "Zoe").
ARTICLE_PARSER_VERSION = 7


@dataclass(frozen=True)
class Article:
    title: str
    body: str  # text without the headline lines, date line, byline lines, "Related Pages"
    published: str | None  # ISO YYYY-MM-DD
    position: int  # 0-based index in its file
    byline: Mapping[str, str] = field(hash=False)  # any of: editor, reviewer, agency, outlet, author
    tags: tuple[str, ...]  # from "Headline | tag | tag" lines
    page_starts: tuple[int, ...] = ()  # pdf page starts as offsets into body
    published_time: str | None = None  # the dateline's time as written ("06:53 AM", "10:15 BJT")
    soft_breaks: tuple[int, ...] = ()  # line breaks in body that are soft wraps (see LoadedDocument)


# --------------------------------------------------------------------------------------------- dates

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20|21)\d{2})"
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)" + _YEAR + r"\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})(?!\d)日?"),
    re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r"\s*,?\s*" + _YEAR + r"(?!\d)", re.IGNORECASE),
    re.compile(r"(?<!\d)" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r",?\s+" + _YEAR + r"(?!\d)", re.IGNORECASE),
    re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})[/.-]" + _YEAR + r"(?![\d/.-])"),
)


def _find_date(text: str) -> tuple[str, int, int] | None:
    """The earliest valid date in text as (ISO, start, end)."""
    best: tuple[str, int, int] | None = None
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if best is not None and match.start() >= best[1]:
                break
            iso = _to_iso(match)
            if iso is not None:
                best = (iso, match.start(), match.end())
                break
    return best


def _to_iso(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    year = int(groups["year"])
    if groups.get("a") is not None:
        first, second = int(groups["a"]), int(groups["b"])
        if first > 12 >= second:
            day, month = first, second
        elif second > 12 >= first:
            month, day = first, second
        elif first == second:
            month = day = first
        elif groups["sep"] == ".":
            day, month = first, second  # 05.03.2024: dots are written day first (Germany, Russia, ...)
        else:
            # 05/03/2024 is May 3 or 5 March. Unread, the dateline was no dateline at all and its article was glued
            # to the one before; read month first, as US news (and the wires) write it. README says so.
            month, day = first, second
    else:
        raw_month = groups["month"]
        month = int(raw_month) if raw_month.isdigit() else _MONTHS[raw_month.lower().rstrip(".")]
        day = int(groups["day"])
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_published(text: str) -> str | None:
    """The first date in a dateline as ISO YYYY-MM-DD ("Release time:May 14, 2024 06:53 AM" -> 2024-05-14)."""
    found = _find_date(text or "")
    return found[0] if found else None


def parse_published_at(text: str) -> tuple[str, str | None] | None:
    """The first date and the time of day after or before it, as written ("2024-05-14T06:53:00+08:00" ->
    ("2024-05-14", "06:53:00+08:00")); None when there is no date."""
    found = _find_date(text or "")
    if found is None:
        return None
    iso, start, end = found
    return iso, _time_of_day(text[:start] + " | " + text[end:])


def _time_of_day(rest: str) -> str | None:
    """The clock time in what is left of a dateline without its date, with its zone ("10:15 BJT"). Exactly
    midnight is a publishing system's placeholder for "no time" ("2024-05-14T00:00:00Z"), not a time."""
    clock = _TIME.search(rest)
    if clock is None or re.fullmatch(r"T?0?0:00(?::00(?:\.0+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?", clock.group(0).strip()):
        return None
    zone = _ZONE.match(rest[clock.end():].lstrip())
    return clock.group(0).lstrip("T").strip() + (f" {zone.group(0)}" if zone else "")


# --------------------------------------------------------------------------------------------- meta lines

_TIME = re.compile(
    r"(?:T|\b)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\b\.?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2})\b)?"
)
_ZONE = re.compile(r"\b(?:UTC|GMT|BJT|CST|EST|EDT|PST|PDT|CET|CEST|BST)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?\b")
_DATE_WORDS = re.compile(
    r"\b(?:(?:last\s+)?(?:release[ds]?|publish(?:ed)?|updated?|posted|created|modified|issued)"
    r"(?:\s+(?:time|date|on|at))?|date|time|on|at)\b",
    re.IGNORECASE,
)
_WEEKDAYS = re.compile(
    r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b\.?", re.IGNORECASE
)
_NAME_CONNECTORS = frozenset({"of", "the", "and", "de", "da", "van", "von", "du", "la", "&", "for", "in", "on"})

_LABELS: tuple[tuple[str, str], ...] = (
    ("agency", r"sources?|news\s+agency|agency|来源"),
    ("editor", r"(?:(?:responsible|chief|executive|managing)\s+)?editors?(?:\s+in\s+charge)?|责任编辑|编辑"),
    ("reviewer", r"review(?:er)?s?|proofread(?:er|ing)?|checked\s+by|审核|校对"),
    ("author", r"authors?|writers?|reporters?|correspondents?|text|作者|记者"),
    ("outlet", r"outlet|publisher|media"),
)
_LABELLED = tuple(
    (key, re.compile(r"^(?:" + label + r")\s*[:：]\s*(?P<name>.+)$", re.IGNORECASE)) for key, label in _LABELS
)
_BY_PHRASES = (
    ("editor", re.compile(r"^edited\s+by\s*:?\s*(?P<name>.+)$", re.IGNORECASE)),
    ("reviewer", re.compile(r"^reviewed\s+by\s*:?\s*(?P<name>.+)$", re.IGNORECASE)),
    ("outlet", re.compile(r"^published\s+by\s*:?\s*(?P<name>.+)$", re.IGNORECASE)),
    ("author", re.compile(r"^(?:[Ww]ritten\s+)?[Bb][Yy]\s*:?\s*(?P<name>[A-Z\u4e00-\u9fff].+)$")),
)
# In a dateline only (a line that is a date and names): "by the Ningbo Daily" names the outlet.
_BY_THE = re.compile(r"^by\s+the\s+", re.IGNORECASE)
# A label lost in conversion leaves ":Name" (seeds: "*:Xinhua**." from "**Source:Xinhua**.").
_UNLABELLED = re.compile(r"^[:：]\s*(?P<name>.+)$")
_RELATED = re.compile(
    r"^(?:related|more|recommended|see\s+also|read\s+more|further\s+reading|you\s+may\s+also\s+like)"
    r"(?:\s+(?:pages?|articles?|news|stories|links|reading|content|posts|reports?))?\s*[:：]?$",
    re.IGNORECASE,
)


def _strip_markup(line: str) -> str:
    return re.sub(r"[*_`#>]+", "", line).strip().rstrip(".。").strip()


def _valid_name(name: str) -> bool:
    name = name.strip()
    if not name or len(name) > 60 or len(name.split()) > 8:
        return False
    if not re.search(r"[^\W\d_]", name):
        return False
    # A name may hold initials ("J. Smith") but not a sentence.
    return not re.search(r"[?!;]|\.\s+[a-z]", name)


def _parse_byline(line: str) -> dict[str, str] | None:
    """A short line naming an editor, reviewer, agency, outlet or author ("Editor: Sun Yan.")."""
    text = _strip_markup(line)
    if not text or len(text) > MAX_META_LINE_CHARS:
        return None
    for key, pattern in (*_LABELLED, *_BY_PHRASES, ("agency", _UNLABELLED)):
        match = pattern.match(text)
        if match:
            name = match.group("name").strip(" \t:：,.;")
            return {key: name} if _valid_name(name) else None
    return None


def _looks_like_name(segment: str) -> bool:
    words = segment.split()
    return 0 < len(words) <= 6 and all(
        word[0].isupper() or word[0].isdigit() or word.lower() in _NAME_CONNECTORS or not word[0].isalpha()
        for word in words
    ) and _valid_name(segment)


def _parse_dateline(line: str) -> tuple[str, str | None, dict[str, str]] | None:
    """A short line that is a date plus at most a time and an outlet/byline ("Mondo Military Updated on 2024-01-30",
    "Release time:May 14, 2024 06:53 AM"): (ISO date, time as written, byline)."""
    text = _strip_markup(line) if "*" in line or "_" in line else line.strip()
    if not text or len(text) > MAX_META_LINE_CHARS:
        return None
    found = _find_date(text)
    if found is None:
        return None
    iso, start, end = found
    rest = text[:start] + " | " + text[end:]
    time_of_day = _time_of_day(rest)
    for pattern in (_TIME, _ZONE, _DATE_WORDS, _WEEKDAYS):
        rest = pattern.sub(" | ", rest)
    segments = [seg.strip(" \t:：;,.-–—()[]") for seg in re.split(r"[|·•/]|\s[-–—]\s", rest)]
    segments = [seg for seg in segments if re.search(r"[^\W\d_]{2,}", seg)]
    meta: dict[str, str] = {}
    for segment in segments:
        byline = _parse_byline(segment)
        if byline:
            meta.update(byline)
        elif _looks_like_name(segment) and "outlet" not in meta:
            meta["outlet"] = segment
        elif (outlet := _BY_THE.sub("", segment)) != segment and _looks_like_name(outlet) and "outlet" not in meta:
            meta["outlet"] = outlet
        else:
            return None  # other words: a sentence or headline that mentions a date, not a dateline
    return iso, time_of_day, meta


# --------------------------------------------------------------------------------------------- lines

@dataclass(frozen=True)
class _Line:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def stripped(self) -> str:
        return self.text.strip()

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    position = 0
    for raw in text.split("\n"):
        lines.append(_Line(raw, position))
        position += len(raw) + 1
    return lines


_MD_HEADING = re.compile(r"^#[ \t]+(?P<title>\S.*?)[ \t#]*$")


def _clean_title(text: str) -> tuple[str, tuple[str, ...]]:
    """Title and tags from a headline line: markup stripped, "Headline | tag | tag" split at " | "."""
    text = re.sub(r"^#+\s*", "", text.strip())
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"\s+", " ", text).strip()
    parts = [part.strip() for part in text.split(" | ")]
    if len(parts) > 1 and re.search(r"[^\W\d_]", parts[0]):
        # The feed glues the first tag onto a headline that ends in "?": "Arrives? Folk custom | Zongzi".
        glued = re.match(r"^(?P<title>.+\?)\s+(?P<tag>[^?]+)$", parts[0])
        if glued:
            parts[0:1] = [glued.group("title"), glued.group("tag")]
        tags: list[str] = []
        for tag in parts[1:]:
            if tag and tag not in tags:
                tags.append(tag)
        return parts[0], tuple(tags)
    return text, ()


def shorten_title(text: str, limit: int = FALLBACK_TITLE_CHARS) -> str:
    """Cut a long first line at a word boundary near `limit` characters."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip(" ,;:-–—") + "…"


def _has_letters(text: str) -> bool:
    return re.search(r"[^\W\d_]", text) is not None


def _headline_candidate(line: _Line) -> bool:
    text = line.stripped
    return (
        0 < len(text) <= MAX_HEADLINE_CHARS
        and _has_letters(text)
        and not text.endswith((".", "。", ",", ";", ":"))  # a sentence, not a headline
        and _parse_dateline(text) is None
        and _parse_byline(text) is None
    )


@dataclass(frozen=True)
class _Header:
    index: int  # first headline line
    size: int  # number of headline lines (2+ for a repeated headline)
    title: str
    tags: tuple[str, ...]


def _next_nonblank(lines: Sequence[_Line], index: int, limit: int) -> int | None:
    for j in range(index, min(len(lines), index + limit)):
        if not lines[j].blank:
            return j
    return None


def _find_headers(lines: Sequence[_Line]) -> list[_Header]:
    headers: list[_Header] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        starts_paragraph = i == 0 or lines[i - 1].blank
        if line.blank or not starts_paragraph:
            i += 1
            continue
        text = line.stripped
        if heading := _MD_HEADING.match(text):
            title, tags = _clean_title(heading.group("title"))
            headers.append(_Header(i, 1, title, tags))
            i += 1
            continue
        if len(text) <= MAX_HEADLINE_CHARS and _has_letters(text):
            size = 1
            while i + size < len(lines) and lines[i + size].stripped == text:
                size += 1
            if size >= 2:
                title, tags = _clean_title(text)
                headers.append(_Header(i, size, title, tags))
                i += size
                continue
        if _headline_candidate(line) and _dateline_follows(lines, i):
            title, tags = _clean_title(text)
            headers.append(_Header(i, 1, title, tags))
            i += 1
            continue
        i += 1
    return headers


def _dateline_follows(lines: Sequence[_Line], index: int) -> bool:
    """A dateline comes after the line at `index`: on the next line or after blank lines, maybe after byline lines
    ("By Sam Okoro"). Each of these layouts used to glue its article to the one before, without a word (its
    citations then gave the other article's title and date)."""
    following = index + 1
    for _ in range(MAX_HEADER_META_LINES):
        found = _next_nonblank(lines, following, 4)
        if found is None:
            return False
        text = lines[found].stripped
        if _parse_dateline(text) is not None:
            return True
        if _parse_byline(text) is None:
            return False
        following = found + 1
    return False


# --------------------------------------------------------------------------------------------- articles

@dataclass
class _Draft:
    title: str
    tags: tuple[str, ...]
    body_start: int
    body_end: int
    published: str | None
    byline: dict[str, str]
    published_time: str | None = None


def _parse_region(
    text: str, lines: Sequence[_Line], first: int, stop: int, *, title: str | None, tags: tuple[str, ...],
    fallback_title: str,
) -> _Draft | None:
    """Header meta lines from `first`, trailer lines before `stop`, the rest is the body."""
    published: str | None = None
    published_time: str | None = None
    byline: dict[str, str] = {}
    i = first
    consumed = 0
    while i < stop and consumed < MAX_HEADER_META_LINES:
        line = lines[i]
        if line.blank:
            i += 1
            continue
        dateline = _parse_dateline(line.stripped) if published is None else None
        if dateline is not None:
            published, published_time = dateline[0], dateline[1]
            for key, value in dateline[2].items():
                byline.setdefault(key, value)
        elif (found := _parse_byline(line.stripped)) is not None:
            for key, value in found.items():
                byline.setdefault(key, value)
        else:
            break
        consumed += 1
        i += 1
    end = _cut_related(lines, i, stop)
    while end > i:
        line = lines[end - 1]
        if line.blank or _RELATED.match(_strip_markup(line.stripped)):
            end -= 1
        elif (found := _parse_byline(line.stripped)) is not None:
            for key, value in found.items():
                byline.setdefault(key, value)
            end -= 1
        else:
            break
    while i < end and lines[i].blank:
        i += 1
    if i >= end:
        return None
    body_start, body_end = lines[i].start, lines[end - 1].end
    while body_start < body_end and text[body_start].isspace():
        body_start += 1
    while body_end > body_start and text[body_end - 1].isspace():
        body_end -= 1
    if body_start >= body_end:
        return None
    if not title:
        first_line = text[body_start:body_end].split("\n", 1)[0]
        title = shorten_title(first_line) if _has_letters(first_line) else fallback_title
    return _Draft(title, tags, body_start, body_end, published, byline, published_time)


def _cut_related(lines: Sequence[_Line], first: int, stop: int) -> int:
    """Where a trailing "Related Pages" list starts (only short lines may follow it), else stop."""
    for j in range(stop - 1, first - 1, -1):
        line = lines[j]
        if line.blank:
            continue
        if _RELATED.match(_strip_markup(line.stripped)):
            return j
        if len(line.stripped) > MAX_STANDALONE_TITLE_CHARS:
            return stop
    return stop


def _untitled_region(
    text: str, lines: Sequence[_Line], first: int, stop: int, *, fallback_title: str,
) -> _Draft | None:
    """A stretch with no headline structure: a short standalone first line is its title, else the first line."""
    head = _next_nonblank(lines, first, stop - first)
    if head is None:
        return None
    line = lines[head]
    alone = head + 1 >= stop or lines[head + 1].blank
    more = _next_nonblank(lines, head + 1, stop - head - 1) is not None
    if alone and more and len(line.stripped) <= MAX_STANDALONE_TITLE_CHARS and _headline_candidate(line):
        title, tags = _clean_title(line.stripped)
        return _parse_region(text, lines, head + 1, stop, title=title, tags=tags, fallback_title=fallback_title)
    return _parse_region(text, lines, head, stop, title=None, tags=(), fallback_title=fallback_title)


def _drafts(text: str, *, fallback_title: str) -> list[_Draft]:
    lines = _lines(text)
    headers = _find_headers(lines)
    drafts: list[_Draft | None] = []
    first_header = headers[0].index if headers else len(lines)
    if _next_nonblank(lines, 0, first_header) is not None:
        drafts.append(_untitled_region(text, lines, 0, first_header, fallback_title=fallback_title))
    for n, header in enumerate(headers):
        stop = headers[n + 1].index if n + 1 < len(headers) else len(lines)
        draft = _parse_region(text, lines, header.index + header.size, stop, title=header.title,
                              tags=header.tags, fallback_title=fallback_title)
        if draft is None:
            logger.debug("Skipping headline %r: it has no body text", header.title)
        drafts.append(draft)
    return [d for d in drafts if d is not None]


def _article(text: str, draft: _Draft, position: int, *, page_starts: Sequence[int] = (),
             published: str | None = None, published_time: str | None = None,
             soft_breaks: Sequence[int] = ()) -> Article:
    body = text[draft.body_start:draft.body_end]
    # The page's own time goes with the page's own date, not with another date the text's dateline gives.
    clock = draft.published_time or (published_time if draft.published in (None, published) else None)
    starts = tuple(min(max(p - draft.body_start, 0), len(body)) for p in page_starts)
    return Article(
        title=draft.title,
        body=body,
        published=draft.published or published,
        position=position,
        byline=dict(draft.byline),
        tags=draft.tags,
        page_starts=starts,
        published_time=clock,
        soft_breaks=tuple(b - draft.body_start for b in soft_breaks if draft.body_start <= b < draft.body_end),
    )


def split_news_file(text: str, *, fallback_title: str = "Untitled", soft_breaks: Sequence[int] = ()) -> list[Article]:
    """Articles of a plain-text news file (several per file; see the module docstring for the rules)."""
    return [_article(text, draft, n, soft_breaks=soft_breaks)
            for n, draft in enumerate(_drafts(text, fallback_title=fallback_title))]


def _single_article(doc: LoadedDocument, *, fallback_title: str) -> list[Article]:
    """HTML and PDF: one article per file."""
    text = doc.text
    lines = _lines(text)
    first = _next_nonblank(lines, 0, len(lines))
    if first is None:
        return []
    if doc.kind == "pdf":
        draft: _Draft | None = _pdf_draft(text, lines, first, title=doc.title, fallback_title=fallback_title)
    else:
        # The page's <h1> usually opens the visible text; it is the title, not body.
        start = first + 1 if doc.title and _clean_title(lines[first].stripped)[0] == doc.title else first
        draft = _parse_region(text, lines, start, len(lines), title=doc.title, tags=(),
                              fallback_title=fallback_title)
    if draft is None:
        return []
    return [_article(text, draft, 0, page_starts=doc.page_starts, published=doc.published,
                     published_time=doc.published_time)]


def _pdf_draft(text: str, lines: Sequence[_Line], first: int, *, title: str | None,
               fallback_title: str) -> _Draft:
    """A PDF's one article, titled by its first line. Its dateline and byline lines give its date and byline, as in
    a text file ("Release time: June 10, 2024" under the title, "Author: Karin Holt" at the end): read as body
    text, they left it undated, so `--since` dropped it. The body is a slice of the text, so page offsets survive;
    without a dateline or byline under it, the title line stays in it."""
    first_line = lines[first].stripped
    title = title or (shorten_title(first_line) if _has_letters(first_line) else fallback_title)
    whole = _Draft(title, (), len(text) - len(text.lstrip()), len(text.rstrip()), None, {})
    draft = _parse_region(text, lines, first + 1, len(lines), title=title, tags=(), fallback_title=fallback_title)
    if draft is None:
        return whole
    below = _next_nonblank(lines, first + 1, len(lines))
    if below is None or not _is_meta_line(lines[below].stripped):
        draft.body_start = whole.body_start
    return draft


def _with_front_matter(article: Article, doc: LoadedDocument) -> Article:
    """The date and byline Markdown front matter gives (`date:`, `author:`), where the article's own dateline and
    byline lines do not."""
    if not doc.published and not doc.byline:
        return article
    own = article.published is not None
    return dataclasses.replace(
        article, published=article.published or doc.published,
        published_time=article.published_time if own else doc.published_time,
        byline=dict(doc.byline) | dict(article.byline))


def _is_meta_line(text: str) -> bool:
    return _parse_dateline(text) is not None or _parse_byline(text) is not None


def split_articles(doc: LoadedDocument) -> list[Article]:
    """The articles of one loaded file, by kind: news text and Markdown may hold several; HTML and PDF one."""
    fallback_title = doc.file.path.stem or doc.file.source
    if doc.kind in ("html", "pdf"):
        articles = _single_article(doc, fallback_title=fallback_title)
    else:
        articles = split_news_file(doc.text, fallback_title=fallback_title, soft_breaks=doc.soft_breaks)
        if doc.title and len(articles) == 1 and not _find_headers(_lines(doc.text)):
            # Markdown front matter named the document; use that rather than its first line.
            articles = [dataclasses.replace(a, title=doc.title) for a in articles]
        articles = [_with_front_matter(a, doc) for a in articles]
    if not articles:
        logger.warning("%s has no article text after removing headlines and bylines.", doc.file.path)
    return articles
