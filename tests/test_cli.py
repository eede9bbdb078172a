"""The real `bot` command in a subprocess: its output shapes, and one clean line for each bad input.

Each model load costs ~10 s on this machine, so one indexed data dir is shared by the module, and the checks that
fail before the model is needed (bad questions, bad options) run against it too.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
QUESTION = "When did the Sutong Bridge open to traffic?"
ANSWER_KEYS = {"question", "answer", "abstained", "small_talk", "citations", "timings_ms"}
CITATION_KEYS = {"n", "title", "published", "source", "chunk_id", "text", "quote", "score", "quote_start",
                 "quote_end"}
TIMING_KEYS = {"retrieve", "answer", "total"}
SUMMARY_LINE = re.compile(r"^Indexed (\d+) files, (\d+) articles: (\d+) chunks added, (\d+) updated, (\d+) removed, "
                          r"(\d+) files skipped \((\d+) chunks in the index\) in \d+\.\ds\.$")


def bot(*args: str, data_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot --data-dir DATA ARGS...` with a clean environment (no BOT_* settings, nothing online)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def assert_one_error_line(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The subprocesses' working directory (empty: no bot.toml, no seeds/ to fall back on)."""
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, workdir: Path) -> tuple[Path, Path, dict]:
    """A data dir holding an index of a copy of seeds/, built by `bot index --json`: (data dir, corpus, summary)."""
    corpus = tmp_path_factory.mktemp("corpus") / "seeds"
    shutil.copytree(SEEDS, corpus)
    data_dir = tmp_path_factory.mktemp("data")
    result = bot("index", "--json", str(corpus), data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --json means no progress bar either
    return data_dir, corpus, json.loads(result.stdout)


# --- index and sources ---------------------------------------------------------------------------------------


def test_index_json_summary(indexed: tuple[Path, Path, dict]) -> None:
    _, _, summary = indexed
    assert summary["files"] == 2 and summary["articles"] == 7 and summary["files_skipped"] == 0
    assert summary["chunks_added"] == summary["chunks_total"] == summary["chunks_embedded"] > 0
    assert summary["warnings"] == [] and summary["rebuilt"] is False
    assert {"chunks_updated", "chunks_removed", "files_unchanged", "files_removed", "seconds"} <= set(summary)


def test_index_again_prints_one_summary_line_and_embeds_nothing(
    indexed: tuple[Path, Path, dict], workdir: Path
) -> None:
    data_dir, corpus, first = indexed
    result = bot("index", str(corpus), data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    match = SUMMARY_LINE.match(lines[0])
    assert match, lines[0]
    assert [int(g) for g in match.groups()] == [2, 7, 0, 0, 0, 0, first["chunks_total"]]


def test_sources_json_lists_the_seven_articles(indexed: tuple[Path, Path, dict], workdir: Path) -> None:
    data_dir, corpus, summary = indexed
    result = bot("sources", "--json", data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    articles = json.loads(result.stdout)
    assert len(articles) == 7
    assert all(set(a) == {"title", "published", "source", "path", "chunks"} for a in articles)
    assert {a["path"] for a in articles} == {str(corpus.resolve() / a["source"]) for a in articles}
    assert sum(a["chunks"] for a in articles) == summary["chunks_total"]
    assert {a["published"] for a in articles} >= {"2024-05-14", "2024-01-30"}


# --- ask -----------------------------------------------------------------------------------------------------


def test_ask_json_prints_one_object_with_a_quoted_citation(indexed: tuple[Path, Path, dict], workdir: Path) -> None:
    data_dir, _, _ = indexed
    result = bot("ask", "--json", QUESTION, data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1  # exactly one JSON line
    answer = json.loads(result.stdout)
    assert set(answer) == ANSWER_KEYS and set(answer["timings_ms"]) == TIMING_KEYS
    assert answer["question"] == QUESTION and answer["abstained"] is False
    assert answer["citations"], answer
    for citation in answer["citations"]:
        assert set(citation) == CITATION_KEYS
        assert citation["text"][citation["quote_start"]:citation["quote_end"]] == citation["quote"]
    first = answer["citations"][0]
    assert first["n"] == 1 and "June 30, 2008" in first["quote"]
    assert "[1]" in answer["answer"] and "June 30, 2008" in answer["answer"]


def test_ask_for_a_person_shows_markers_and_sources(indexed: tuple[Path, Path, dict], workdir: Path) -> None:
    data_dir, _, _ = indexed
    result = bot("ask", QUESTION, data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = result.stdout
    assert "[1]" in text.split("Sources:")[0]
    assert "\nSources:\n" in text
    assert re.search(r"^  \[1\] .+ \(2024-05-14\) - 000_f5096a39126c624c\.txt$", text, re.MULTILINE)
    assert "June 30, 2008" in text.split("Sources:")[1]


@pytest.mark.parametrize(
    ("question", "fragment"),
    [("", "empty"), ("   \t ", "empty"), ("x" * 2001, "2001 characters")],
    ids=["empty", "whitespace", "too-long"],
)
def test_bad_questions_are_one_usage_line(
    indexed: tuple[Path, Path, dict], workdir: Path, question: str, fragment: str
) -> None:
    data_dir, _, _ = indexed
    assert_one_error_line(bot("ask", question, data_dir=data_dir, cwd=workdir), 2, fragment)


def test_a_question_of_exactly_the_limit_is_not_refused_for_length(
    indexed: tuple[Path, Path, dict], workdir: Path
) -> None:
    data_dir, _, _ = indexed
    # The limit is on the question; -k 0 then stops it before the model loads, so this stays cheap.
    result = bot("ask", "-k", "0", "x" * 2000, data_dir=data_dir, cwd=workdir)
    assert "characters long" not in assert_one_error_line(result, 2, "k must be greater than 0")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [(["-k", "0"], "k must be greater than 0"), (["--since", "2024-13-01"], "2024-13-01")],
    ids=["k-zero", "bad-date"],
)
def test_bad_options_are_one_usage_line(
    indexed: tuple[Path, Path, dict], workdir: Path, options: list[str], fragment: str
) -> None:
    data_dir, _, _ = indexed
    assert_one_error_line(bot("ask", *options, QUESTION, data_dir=data_dir, cwd=workdir), 2, fragment)


def test_ask_before_any_index_says_how_to_build_one(tmp_path: Path, workdir: Path) -> None:
    line = assert_one_error_line(bot("ask", QUESTION, data_dir=tmp_path / "empty", cwd=workdir), 1)
    assert "No index" in line and "bot index" in line


def test_sources_before_any_index_says_how_to_build_one(tmp_path: Path, workdir: Path) -> None:
    assert_one_error_line(bot("sources", data_dir=tmp_path / "empty", cwd=workdir), 1, "No index", "bot index")


# --- bad corpora ---------------------------------------------------------------------------------------------


def test_a_missing_corpus_folder_is_one_usage_line(tmp_path: Path, workdir: Path) -> None:
    missing = tmp_path / "no-such-folder"
    assert_one_error_line(bot("index", str(missing), data_dir=tmp_path / "data", cwd=workdir), 2, str(missing))


def test_the_default_corpus_missing_from_the_working_directory_is_one_usage_line(
    tmp_path: Path, workdir: Path
) -> None:
    assert_one_error_line(bot("index", data_dir=tmp_path / "data", cwd=workdir), 2, "seeds")


def test_an_empty_corpus_folder_is_one_usage_line(tmp_path: Path, workdir: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.docx").write_bytes(b"PK\x03\x04")  # unsupported suffixes do not count
    assert_one_error_line(bot("index", str(empty), data_dir=tmp_path / "data", cwd=workdir), 2,
                          "No supported files", str(empty))


def test_binary_and_non_utf8_files_warn_once_and_the_rest_is_indexed(tmp_path: Path, workdir: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bridge.txt").write_text(
        "Sutong Bridge traffic record\n\nRelease time:July 1, 2024 08:00 AM\n\n"
        "The Sutong Bridge carried 130,000 vehicles on Sunday, a record for a single day.\n", encoding="utf-8")
    (corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (corpus / "cafe.txt").write_bytes("Caf\u00e9 opens in Nantong\n\nThe caf\u00e9 opened on Monday.\n"
                                      .encode("cp1252"))
    data_dir = tmp_path / "data"
    # No --quiet: stderr is a pipe here, so the progress bar stays off and only the warnings remain.
    result = bot("index", str(corpus), data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert len([line for line in lines if "photo.txt" in line and "binary" in line]) == 1
    assert len([line for line in lines if "cafe.txt" in line and "UTF-8" in line]) == 1
    assert all(line.startswith("Warning: ") for line in lines)
    match = SUMMARY_LINE.match(result.stdout.strip())
    assert match, result.stdout
    files, articles, _, _, _, skipped, _ = (int(g) for g in match.groups())
    assert (files, articles, skipped) == (2, 2, 1)

    listed = bot("sources", "--json", data_dir=data_dir, cwd=workdir)
    assert sorted(a["source"] for a in json.loads(listed.stdout)) == ["bridge.txt", "cafe.txt"]


def test_remove_takes_a_gone_folder_out_of_the_index(tmp_path: Path, workdir: Path) -> None:
    """A folder deleted (or on a drive that is gone) keeps answering until it is indexed again; `bot remove` takes it
    out without it, and says so in one line when nothing is indexed there."""
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    for folder, text in ((kept, "The Qinhuai River glitters in early summer."),
                         (gone, "The Sutong Bridge carried 130,000 vehicles on Sunday, a record.")):
        folder.mkdir()
        (folder / "story.txt").write_text(f"A headline\n\n{text}\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    for folder in (kept, gone):
        assert bot("index", "--quiet", str(folder), data_dir=data_dir, cwd=workdir).returncode == 0
    shutil.rmtree(gone)

    result = bot("remove", str(gone), data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Removed 1 files (1 chunks); 1 chunks are left in the index."
    listed = json.loads(bot("sources", "--json", data_dir=data_dir, cwd=workdir).stdout)
    assert [a["path"] for a in listed] == [str(kept.resolve() / "story.txt")]
    answer = json.loads(bot("ask", "--json", "How many vehicles did the Sutong Bridge carry on Sunday?",
                            data_dir=data_dir, cwd=workdir).stdout)
    assert answer["abstained"] is True
    assert_one_error_line(bot("remove", str(gone), data_dir=data_dir, cwd=workdir), 2, "Nothing is indexed under",
                          "bot sources")


# --- help ------------------------------------------------------------------------------------------------------


def test_python_m_bot_help(workdir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], cwd=workdir, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: bot")
    for command in ("index", "remove", "sources", "ask", "chat", "serve", "eval", "feedback"):
        assert command in result.stdout


def test_no_command_is_a_usage_error(workdir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot"], cwd=workdir, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
