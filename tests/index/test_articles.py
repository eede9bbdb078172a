from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import Article, parse_published, shorten_title, split_articles, split_news_file
from index.loaders import SourceFile, discover_files, load_file
from tests.index.pdfmaker import make_pdf

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

SEED_TITLES = [
    "Why does Nantong frequently mention the Yangtze River Estuary Industrial Innovation Collaborative Zone? "
    "Wu Xinming, Secretary of the Nantong Municipal Party Committee, said this",
    'Zhejiang has "bad flavor", but who says there is no good Baijiu in Zhejiang?',
    "Taizhou Huangyan Green Shanghai",
    "The largest metaverse professional exhibition in the country is held in Kunshan",
    "Think of Jiaxing as soon as the Dragon Boat Festival arrives?",
    "What is the rhythm of the Yangtze River Delta?",
    "Promote the two strategies as a whole to better serve the overall situation of the country",
]


@pytest.fixture(scope="module")
def seed_articles() -> list[tuple[str, Article]]:
    return [(f.source, a) for f in discover_files([SEEDS]) for a in split_articles(load_file(f))]


def test_seeds_split_into_seven_articles_with_real_titles(seed_articles: list[tuple[str, Article]]) -> None:
    assert [a.title for _, a in seed_articles] == SEED_TITLES
    assert [source for source, _ in seed_articles] == ["000_f5096a39126c624c.txt"] * 6 + ["003_ea7677fb405ea616.txt"]
    assert [a.position for _, a in seed_articles] == [0, 1, 2, 3, 4, 5, 0]


def test_seed_dates_bylines_and_tags(seed_articles: list[tuple[str, Article]]) -> None:
    articles = [a for _, a in seed_articles]
    assert [a.published for a in articles] == ["2024-05-14", None, None, None, None, None, "2024-01-30"]
    assert dict(articles[6].byline) == {
        "outlet": "Mondo Military", "agency": "Xinhua", "editor": "Sun Yan", "reviewer": "Zhang Xiang",
    }
    assert all(dict(a.byline) == {} for a in articles[:6])
    assert articles[0].tags == ()
    # The feed glues the first tag onto a headline ending in "?"; it is a tag, not part of the title.
    assert articles[1].tags == ("Fragrant and strong sauce flavored ingredients", "glutinous rice. Ningxi", "Fragrant")
    assert articles[2].tags == ("Taizhou", "Taizhou Huangyan Green")
    assert articles[4].tags == ("Folk custom", "Zongzi", "Jiaxing")


def test_seed_bodies_hold_no_headline_dateline_or_byline_lines(seed_articles: list[tuple[str, Article]]) -> None:
    articles = [a for _, a in seed_articles]
    for article in articles:
        assert article.body == article.body.strip()
        assert " | " not in article.body
        for junk in ("Release time", "Updated on", "Related Pages", "Editor: Sun Yan", "Review: Zhang Xiang",
                     "Xinhua**"):
            assert junk not in article.body
        # No headline line (with its tags) is left; the Jiaxing body itself opens with the headline's sentence.
        assert " | " not in article.body.split("\n", 1)[0]
    assert articles[0].body.startswith("On November 30 last year")
    assert articles[0].body.endswith("forming a demonstration drive.")
    assert articles[1].body.startswith("Strolling around Song Street")
    # This body legitimately opens with the headline's question; the two headline lines are gone.
    assert articles[4].body.startswith("Think of Jiaxing as soon as the Dragon Boat Festival arrives? People")
    assert articles[6].body.startswith("Cadres and masses")
    assert articles[6].body.endswith("money and technology. ”")


def test_every_seed_line_is_kept_somewhere(seed_articles: list[tuple[str, Article]]) -> None:
    bodies = "\n".join(a.body for _, a in seed_articles)
    for path in sorted(SEEDS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if len(line) > 300:  # every paragraph, not the headline/meta lines
                assert line.strip() in bodies


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Release time:May 14, 2024 06:53 AM", "2024-05-14"),
        ("Mondo Military Updated on 2024-01-30", "2024-01-30"),
        ("Published 3 June 2023", "2023-06-03"),
        ("Posted on Jan. 5, 2024 at 9:00", "2024-01-05"),
        ("2024/2/9 10:00", "2024-02-09"),
        ("2024年5月14日", "2024-05-14"),
        ("Updated: 2024-05-14T06:53:00+08:00", "2024-05-14"),
        ("25/12/2023", "2023-12-25"),
        # Day and month could be either: month first with "/" or "-" (as US news writes it), day first with dots.
        ("03/04/2023", "2023-03-04"),
        ("Published 05-03-2024", "2024-05-03"),
        ("05.03.2024", "2024-03-05"),
        ("13/05/2024", "2024-05-13"),  # unambiguous either way
        ("05/13/2024", "2024-05-13"),
        ("2024-02-30", None),
        ("No date here", None),
        ("", None),
    ],
)
def test_parse_published(text: str, expected: str | None) -> None:
    assert parse_published(text) == expected


@pytest.mark.parametrize(
    ("dateline", "expected"),
    [
        ("Release time:May 14, 2024 06:53 AM", "06:53 AM"),
        ("Posted on Jan. 5, 2024 at 9:00", "9:00"),
        ("Updated: 2024-05-14T06:53:00+08:00", "06:53:00+08:00"),
        ("Daily Planet Posted on March 3, 2024 10:15 BJT", "10:15 BJT"),
        ("Mondo Military Updated on 2024-01-30", None),
        ("Posted on March 3, 2024 00:00", None),
        ("Posted on March 3, 2024 00:30", "00:30"),
    ],
)
def test_the_datelines_time_of_day_is_kept_as_written(dateline: str, expected: str | None) -> None:
    [article] = split_news_file(f"Harbour reopens\n\n{dateline}\n\nThe harbour reopened today.\n")
    assert (article.published is not None, article.published_time) == (True, expected)


def test_repeated_headlines_start_articles() -> None:
    text = (
        "Harbour reopens after storm | Ports | Weather\n"
        "Harbour reopens after storm | Ports | Weather\n\n"
        "The harbour reopened today.\n\n"
        "Is the bridge \"safe\"? Engineers say yes\n"
        "Is the bridge \"safe\"? Engineers say yes\n\n"
        "Engineers inspected the bridge.\n"
    )
    articles = split_news_file(text)
    assert [a.title for a in articles] == ["Harbour reopens after storm", 'Is the bridge "safe"? Engineers say yes']
    assert articles[0].tags == ("Ports", "Weather")
    assert [a.body for a in articles] == ["The harbour reopened today.", "Engineers inspected the bridge."]
    assert [a.published for a in articles] == [None, None]


def test_short_line_followed_by_a_dateline_starts_an_article() -> None:
    text = (
        "First story headline\n\nPublished: 2023-11-02\n\nBy Jane Doe\n\nBody of the first story.\n\n"
        "Second story headline\n\nDaily Planet Posted on March 3, 2024 10:15\n\nBody of the second story.\n"
        "Edited by: Perry White.\n\nRelated Articles\nAnother headline\nYet another headline\n"
    )
    first, second = split_news_file(text)
    assert (first.title, first.published, dict(first.byline)) == (
        "First story headline", "2023-11-02", {"author": "Jane Doe"})
    assert first.body == "Body of the first story."
    assert (second.title, second.published) == ("Second story headline", "2024-03-03")
    assert (first.published_time, second.published_time) == (None, "10:15")
    assert dict(second.byline) == {"outlet": "Daily Planet", "editor": "Perry White"}
    assert second.body == "Body of the second story."


def test_a_headline_mentioning_a_date_is_not_a_dateline() -> None:
    text = "Markets rally on May 14, 2024\n\nRelease time: May 15, 2024\n\nStocks rose.\n"
    (article,) = split_news_file(text)
    assert (article.title, article.published, article.body) == ("Markets rally on May 14, 2024", "2024-05-15",
                                                                "Stocks rose.")


def test_markdown_headings_start_articles(tmp_path: Path) -> None:
    path = tmp_path / "digest.md"
    path.write_text(
        "# First item\n\n*Published 2024-04-01*\n\nAlpha text.\n\n## Detail\n\nMore alpha.\n\n"
        "# Second item\n\nBeta text.\n",
        encoding="utf-8",
    )
    articles = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert [(a.title, a.published, a.position) for a in articles] == [
        ("First item", "2024-04-01", 0), ("Second item", None, 1)]
    assert articles[0].body == "Alpha text.\n\n## Detail\n\nMore alpha."
    assert articles[1].body == "Beta text."


def test_a_dateline_naming_its_outlet_by_the_name_gives_the_date(tmp_path: Path) -> None:
    """"*Published 2024-03-02 by the Ningbo Daily*" was not a dateline: the article had no date (so `--since` left
    it out) and the line stayed in its text."""
    path = tmp_path / "harbour.md"
    path.write_text("# Harbour bridge opens in Ningbo\n\n*Published 2024-03-02 by the Ningbo Daily*\n\n"
                    "The bridge opened on March 1.\n", encoding="utf-8")
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert (article.published, dict(article.byline), article.body) == (
        "2024-03-02", {"outlet": "Ningbo Daily"}, "The bridge opened on March 1.")
    (story,) = split_news_file("Tide report\n\nThe tide came in by the pier on May 1, 2024.\n")
    assert story.body == "The tide came in by the pier on May 1, 2024." and story.published is None


def test_unstructured_file_is_one_article_titled_by_its_first_line() -> None:
    first_line = ("This long opening sentence runs on and on about the harbour, the boats, the weather and the "
                  "people who came to watch the ships sail past on a bright morning.")
    (article,) = split_news_file(first_line + " More text follows.\nAnother line.\n")
    assert article.title == shorten_title(first_line)
    assert article.title.endswith("…") and len(article.title) <= 121
    assert first_line.startswith(article.title[:-1])
    assert article.body.startswith(first_line)


def test_short_standalone_first_line_is_the_title() -> None:
    (article,) = split_news_file("A quiet week in the port\n\nNothing happened. Boats slept.\n")
    assert (article.title, article.body) == ("A quiet week in the port", "Nothing happened. Boats slept.")


def test_text_without_letters_is_titled_by_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "figures_2024.txt"
    path.write_text("12 345 678\n910 111\n", encoding="utf-8")
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert article.title == "figures_2024"


def test_html_is_one_article_without_its_title_line(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<title>Harbour opens - Site</title><h1>Harbour opens</h1><p>By Ann Lee</p>"
        "<p>The harbour opened. Ships came.</p><p>Editor: Bo Chen</p>",
        encoding="utf-8",
    )
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert article.title == "Harbour opens"
    assert article.body == "The harbour opened. Ships came."
    assert dict(article.byline) == {"author": "Ann Lee", "editor": "Bo Chen"}


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ('<meta property="article:published_time" content="2024-05-14T06:53:00+08:00">', "",
         ("2024-05-14", "06:53:00+08:00")),
        ("", '<p><time datetime="2024-05-14T06:53">May 14</time></p>', ("2024-05-14", "06:53")),
        ('<meta name="date" content="2024-05-14">', "", ("2024-05-14", None)),
        # Midnight exactly is a publishing system's "no time".
        ('<meta property="article:published_time" content="2024-05-14T00:00:00+08:00">', "", ("2024-05-14", None)),
        # A dateline in the text wins, and the page's time does not join another day's date.
        ('<meta property="article:published_time" content="2024-05-14T06:53:00Z">', "<p>Posted on 2024-06-01</p>",
         ("2024-06-01", None)),
    ],
)
def test_an_html_pages_time_of_day_is_kept_with_its_date(tmp_path: Path, head: str, body: str,
                                                         expected: tuple[str, str | None]) -> None:
    path = tmp_path / "page.html"
    path.write_text(f"<head>{head}</head><h1>Harbour opens</h1>{body}<p>The harbour opened. Ships came.</p>",
                    encoding="utf-8")
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert (article.published, article.published_time) == expected


def test_pdf_is_one_article_with_page_starts(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "r.pdf", [["Port Annual Report", "Ships came."], ["Page two text."]])
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert article.title == "Port Annual Report"
    assert article.body == "Port Annual Report\nShips came.\n\nPage two text."
    assert article.page_starts == (0, article.body.index("Page two"))


# --- layouts that glued an article to the one before (tester J) ------------------------------------------------

WIRE = (
    "Bridge tolls scrapped on the Alder crossing\n\nBy Sam Okoro\n\nRelease time: May 2, 2024\n\n"
    "Tolls on the Alder crossing will be scrapped from July 1. Drivers currently pay $3 each way.\n\n"
    "Harbour cranes replaced after 40 years\n\nPublished 05/03/2024\n\n"
    "Two new electric cranes arrived at Port Alder harbour on Friday. Each crane can lift 65 tonnes.\n\n"
    "Eastgate library reopens after two-year renovation\nRelease time: September 21, 2024 10:00 AM\n\n"
    "The Eastgate branch library reopened on Saturday. It now holds 42,000 books.\n\n"
    "Editor: Marco Ruiz.\n\n"
    "New bakery opens on Main Street\nBy Sam Okoro\n\nRelease time: May 4, 2024\n\n"
    "A new bakery opened on Main Street on Saturday.\n"
)


def test_a_byline_a_numeric_date_or_no_blank_line_under_a_headline_still_starts_an_article() -> None:
    """Each of these layouts glued its article to the one before without a word: its citations carried the other
    article's title and date, and the merged article took the last byline it met."""
    articles = split_news_file(WIRE)
    assert [(a.title, a.published) for a in articles] == [
        ("Bridge tolls scrapped on the Alder crossing", "2024-05-02"),
        ("Harbour cranes replaced after 40 years", "2024-05-03"),  # 05/03: month first
        ("Eastgate library reopens after two-year renovation", "2024-09-21"),
        ("New bakery opens on Main Street", "2024-05-04"),
    ]
    assert dict(articles[0].byline) == dict(articles[3].byline) == {"author": "Sam Okoro"}
    assert articles[0].body.startswith("Tolls on") and "Harbour cranes" not in articles[0].body
    assert articles[1].body == "Two new electric cranes arrived at Port Alder harbour on Friday. Each crane can lift " \
                               "65 tonnes."
    assert (articles[2].published_time, dict(articles[2].byline)) == ("10:00 AM", {"editor": "Marco Ruiz"})
    assert "Release time" not in articles[2].body and "Eastgate library reopens" not in articles[1].body


def test_a_headline_with_its_byline_on_the_next_lines_and_then_the_dateline() -> None:
    text = ("Ferry fares rise\nBy Ann Lee\nEditor: Bo Chen\nRelease time: June 1, 2024\n\nFares rose by 5 percent.\n\n"
            "Port opens night shift\n\nBy Sam Okoro\n\n\nPosted on 2024-06-02\n\nThe port now works at night.\n")
    first, second = split_news_file(text)
    assert (first.title, first.published, dict(first.byline), first.body) == (
        "Ferry fares rise", "2024-06-01", {"author": "Ann Lee", "editor": "Bo Chen"}, "Fares rose by 5 percent.")
    assert (second.title, second.published, dict(second.byline), second.body) == (
        "Port opens night shift", "2024-06-02", {"author": "Sam Okoro"}, "The port now works at night.")


def test_a_paragraphs_first_line_or_a_byline_alone_does_not_start_an_article() -> None:
    """Only a dateline below (after bylines at most) makes a short line a headline."""
    text = ("Harbour news\n\nRelease time: May 2, 2024\n\nThe harbour reopened.\nIt was closed for a week.\n\n"
            "A quiet week\n\nBy Sam Okoro\n\nNothing else happened.\n\nWeather\nRelease notes follow below.\n")
    (article,) = split_news_file(text)
    assert article.title == "Harbour news" and article.body.endswith("Release notes follow below.")


def test_a_pdfs_dateline_and_byline_lines_give_its_date_and_byline(tmp_path: Path) -> None:
    """"Release time: June 10, 2024" and "Author: Karin Holt" were read as body text: `bot sources` said "(no date)",
    `--since` dropped the article and "Who wrote it?" was declined."""
    path = make_pdf(tmp_path / "dredging.pdf", [
        ["Harbour dredging to deepen the channel", "Release time: June 10, 2024",
         "The channel will be 12 metres deep."],
        ["Environmental concerns", "The trust asked for a pause.", "Author: Karin Holt"]])
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert (article.title, article.published, dict(article.byline)) == (
        "Harbour dredging to deepen the channel", "2024-06-10", {"author": "Karin Holt"})
    assert article.body.startswith("The channel will be") and article.body.endswith("The trust asked for a pause.")
    assert article.body[article.page_starts[1]:].startswith("Environmental concerns")
    assert article.page_starts[0] == 0


def test_markdown_front_matter_gives_the_date_and_author(tmp_path: Path) -> None:
    path = tmp_path / "tidy.md"
    path.write_text("---\ntitle: Port Alder wins Tidy Towns silver medal\ndate: 2024-09-30T10:15:00Z\n"
                    "author: \"Marco Ruiz\"\n---\n\nPort Alder won a silver medal.\n", encoding="utf-8")
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert (article.title, article.published, article.published_time, dict(article.byline)) == (
        "Port Alder wins Tidy Towns silver medal", "2024-09-30", "10:15:00Z", {"author": "Marco Ruiz"})
    # The article's own dateline wins over the front matter's date.
    path.write_text("---\ndate: 2024-09-30\nauthor: Marco Ruiz\n---\n\n# Medal\n\n*Published 2024-10-01 by Ann Lee*\n\n"
                    "Port Alder won a medal.\n", encoding="utf-8")
    (article,) = split_articles(load_file(SourceFile(path, tmp_path, path.name)))
    assert (article.title, article.published, dict(article.byline)) == ("Medal", "2024-10-01", {"author": "Ann Lee"})
