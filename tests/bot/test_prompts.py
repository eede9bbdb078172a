"""Prompt templates: front matter declares the variables; loading and rendering check them."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.prompts import PromptLibrary, default_prompts_dir
from tests.bot.conftest import PROMPTS

SHIPPED = {
    "abstain": set(), "nothing_more": set(), "article_fact": {"title", "field", "value"},
    "condense_question": {"history", "question"}, "empty_question": set(),
    "generative_answer": {"passages", "question", "abstain_message"}, "question_too_long": {"length", "limit"},
    "question_too_long_for_model": {"pieces", "limit"}, "small_talk": {"kind"}, "part_unanswered": {"question"}, "opinion": set(),
    "no_filter_match": {"filters"},
    "library": {"count", "articles", "more"}, "said_by": {"speaker", "unnamed"}, "yes_no": {"verdict"},
}


def library(tmp_path: Path, **files: str) -> PromptLibrary:
    for name, text in files.items():
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    return PromptLibrary(tmp_path)


def test_default_folder_is_the_projects_prompts() -> None:
    assert default_prompts_dir() == PROMPTS


def test_shipped_prompts_all_load_with_their_variables() -> None:
    prompts = PromptLibrary()
    assert prompts.names() == sorted(SHIPPED)
    for name, variables in SHIPPED.items():
        prompt = prompts.get(name)
        assert prompt.variables == variables, name
        assert prompt.description, f"{name} has no description"


def test_shipped_prompts_render() -> None:
    prompts = PromptLibrary()
    assert prompts.render("empty_question") == "Please type a question (it was empty)."
    assert prompts.render("question_too_long", length=2001, limit=2000) == (
        "Your question is 2001 characters long; the limit is 2000. Please shorten it.")
    assert prompts.render("small_talk", kind="greeting").startswith("Hello! Ask me a question about the news")
    assert prompts.render("small_talk", kind="thanks").startswith("You're welcome.")
    assert prompts.render("small_talk", kind="goodbye").startswith("Goodbye!")
    assert prompts.render("said_by", speaker="Xu Xiaoyu, director of Jingjiang City", unnamed=False) == (
        "Xu Xiaoyu, director of Jingjiang City, said it.")
    assert prompts.render("said_by", speaker="Wu Xinming", unnamed=False) == "Wu Xinming said it."
    assert prompts.render("said_by", speaker="", unnamed=False).startswith("Nobody is quoted saying it")
    assert prompts.render("said_by", speaker="", unnamed=True) == "The article does not say who said it."
    assert (prompts.render("yes_no", verdict="yes"), prompts.render("yes_no", verdict="no")) == ("Yes.", "No.")
    abstain = prompts.render("abstain")
    assert abstain.startswith("The articles I have do not answer that question.")
    condensed = prompts.render("condense_question", question="How many vehicles use it?",
                               history=[{"role": "user", "content": "When did the Sutong Bridge open?"}])
    assert "user: When did the Sutong Bridge open?" in condensed
    assert condensed.endswith("Last question: How many vehicles use it?\nStandalone question:")
    system = prompts.render("generative_answer", question="Q?", abstain_message=abstain,
                            passages=[{"title": "T1", "published": "2008-07-01", "text": "Body one."},
                                      {"title": "T2", "published": None, "text": "Body two."}])
    assert "[1] T1 (2008-07-01)\nBody one." in system and "[2] T2\nBody two." in system
    assert abstain in system and system.endswith("Question: Q?\nAnswer:")


def test_a_template_with_front_matter_renders_only_its_body(tmp_path: Path) -> None:
    prompts = library(tmp_path, hello="---\ndescription: Greets.\nvariables: [who]\n---\nHello {{ who }}!\n")
    prompt = prompts.get("hello")
    assert (prompt.description, prompt.variables) == ("Greets.", frozenset({"who"}))
    assert prompts.render("hello", who="Ada") == "Hello Ada!"


def test_a_template_without_front_matter_and_without_variables_loads(tmp_path: Path) -> None:
    assert library(tmp_path, plain="Just text.\n").render("plain") == "Just text."


def test_using_an_undeclared_variable_fails_on_load(tmp_path: Path) -> None:
    prompts = library(tmp_path, bad="---\nvariables: [name]\n---\nHello {{ name }} from {{ place }}.\n")
    with pytest.raises(ConfigError, match=r"bad\.txt uses place"):
        prompts.get("bad")


def test_a_variable_without_front_matter_is_undeclared(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="uses name"):
        library(tmp_path, bad="Hello {{ name }}.\n").names()


def test_declaring_an_unused_variable_fails_on_load(tmp_path: Path) -> None:
    prompts = library(tmp_path, bad="---\nvariables: [name, unused]\n---\nHello {{ name }}.\n")
    with pytest.raises(ConfigError, match=r"bad\.txt declares unused"):
        prompts.get("bad")


def test_one_bad_file_fails_the_whole_folder(tmp_path: Path) -> None:
    # Loading is all-or-nothing so a broken template is found at start-up, not when its message is first needed.
    prompts = library(tmp_path, good="Fine.\n", bad="---\nvariables: []\n---\n{{ oops }}\n")
    with pytest.raises(ConfigError, match="oops"):
        prompts.get("good")


def test_loop_variables_and_attributes_are_not_undeclared(tmp_path: Path) -> None:
    prompts = library(tmp_path, turns="---\nvariables: [history]\n---\n{% for t in history %}{{ t.role }};{% endfor %}")
    assert prompts.render("turns", history=[{"role": "user"}, {"role": "assistant"}]) == "user;assistant;"


def test_a_missing_variable_at_render_fails(tmp_path: Path) -> None:
    prompts = library(tmp_path, hello="---\nvariables: [who, place]\n---\n{{ who }} in {{ place }}\n")
    with pytest.raises(ConfigError, match="needs place"):
        prompts.render("hello", who="Ada")
    with pytest.raises(ConfigError, match="needs"):
        PromptLibrary().render("question_too_long", length=3)


def test_an_undefined_attribute_at_render_fails(tmp_path: Path) -> None:
    prompts = library(tmp_path, turns="---\nvariables: [turn]\n---\n{{ turn.role }}\n")
    with pytest.raises(ConfigError, match="turns"):
        prompts.render("turns", turn={})


def test_syntax_errors_name_file_and_line(tmp_path: Path) -> None:
    prompts = library(tmp_path, broken="---\nvariables: [x]\n---\nline one\n{{ x \n")
    with pytest.raises(ConfigError, match=r"broken\.txt, line \d"):
        prompts.names()


def test_bad_yaml_front_matter(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="front matter is not valid YAML"):
        library(tmp_path, bad="---\nvariables: [a\n---\n{{ a }}\n").names()


def test_missing_prompt_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'nothing' is missing.*Add nothing\.txt"):
        library(tmp_path, good="Fine.\n").get("nothing")
    with pytest.raises(ConfigError, match="does not exist"):
        PromptLibrary(tmp_path / "absent").names()


def test_nothing_is_read_before_first_use(tmp_path: Path) -> None:
    prompts = PromptLibrary(tmp_path / "absent")  # no error yet: the folder is read on first use
    assert prompts.directory == tmp_path / "absent"


def test_a_variable_called_name_renders(tmp_path: Path) -> None:
    prompts = library(tmp_path, hello="---\nvariables: [name]\n---\nHello {{ name }}!\n")
    assert prompts.render("hello", name="Ada") == "Hello Ada!"


def test_the_library_reply_lists_articles_and_says_how_many_more() -> None:
    prompts = PromptLibrary(default_prompts_dir())
    shown = [{"title": "A <b>bridge</b>", "date": "May 14, 2024"}, {"title": "Undated", "date": ""}]
    text = prompts.render("library", count=12, articles=shown, more=10)
    assert text.splitlines() == ["I have 12 articles, newest first:", "", "- A <b>bridge</b> (May 14, 2024)",
                                 "- Undated", "- and 10 more.", "", "Ask me about any of them."]
    assert prompts.render("library", count=1, articles=shown[1:], more=0).startswith("I have 1 article:")
    assert prompts.render("library", count=0, articles=[], more=0).startswith("No articles are indexed yet.")
