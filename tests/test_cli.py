"""The real `bot` command in a subprocess: its output shapes, and one clean line for each bad input.

Each model load costs ~10 s on this machine, so one indexed data dir is shared by the module, and the checks that
fail before the model is needed (bad questions, bad options) run against it too.
"""
from __future__ import annotations

import json
import logging
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.cli import ForTheUser

pytestmark = pytest.mark.integration

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
QUESTION = "When did the Sutong Bridge open to traffic?"
ANSWER_KEYS = {"question", "answer", "abstained", "small_talk", "no_filter_match", "citations", "timings_ms"}
CITATION_KEYS = {"n", "title", "published", "source", "chunk_id", "text", "quote", "score", "quote_start",
                 "quote_end"}
TIMING_KEYS = {"retrieve", "answer", "total"}
SUMMARY_LINE = re.compile(r"^Indexed (\d+) files?, (\d+) articles?: (\d+) chunks? added, (\d+) updated, (\d+) removed, "
                          r"(\d+) files? skipped \((\d+) chunks? in the index\) in \d+\.\ds\.$")


def clean_env() -> dict[str, str]:
    """The environment without BOT_* settings, nothing online."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    return env


def bot(*args: str, data_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot --data-dir DATA ARGS...` with a clean environment (no BOT_* settings, nothing online)."""
    return subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, timeout=300, check=False)


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


def test_warnings_are_one_line_but_an_error_with_its_exception_keeps_the_traceback() -> None:
    """`bot serve` logged "Error: The chat failed to answer 'q'" alone for every failed request: the traceback
    was dropped with the rest, and a real bug could not be told apart."""
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        exc_info = sys.exc_info()

    def record(level: int, exc: object) -> logging.LogRecord:
        return logging.LogRecord("bot.web.app", level, __file__, 1, "The chat failed to answer %r", ("q",), exc)

    formatter = ForTheUser()
    assert formatter.format(record(logging.WARNING, exc_info)) == "Warning: The chat failed to answer 'q'"
    assert formatter.format(record(logging.ERROR, None)) == "Error: The chat failed to answer 'q'"
    head, *traceback = formatter.format(record(logging.ERROR, exc_info)).splitlines()
    assert head == "Error: The chat failed to answer 'q'"
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-2:] == ["ValueError: boom", "second line"]


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


def test_a_source_copied_from_sources_works_with_ask_source(indexed: tuple[Path, Path, dict], workdir: Path) -> None:
    """`bot sources` shows each article's source, which is what `--source` matches (a full path never does)."""
    data_dir, corpus, _ = indexed
    listed = bot("sources", data_dir=data_dir, cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    sutong = lines.index(next(line for line in lines if "Nantong frequently mention" in line))
    copied = lines[sutong + 1].split()[0]  # as a user selects the first word of the line under the title
    assert lines[sutong + 1] == f"            {copied}  (17 chunks, indexed from {corpus.resolve()})"
    assert lines[-1].startswith("7 articles. `bot ask --source TEXT`")
    result = bot("ask", "--json", "--source", copied, QUESTION, data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "June 30, 2008" in answer["answer"] and {c["source"] for c in answer["citations"]} == {copied}

    full = corpus.resolve() / copied
    assert_one_error_line(bot("ask", "--source", str(full), QUESTION, data_dir=data_dir, cwd=workdir), 2,
                          f"--source {full} is a full path", f"Try --source {full.name}.")
    help_text = " ".join(bot("ask", "--help", data_dir=data_dir, cwd=workdir).stdout.split())
    assert "whose source, as `bot sources` shows it" in help_text
    # "~someone" with no such home is no path to refuse (it crashed with RuntimeError): nothing matches it.
    tilde = bot("ask", "--json", "--source", "~nosuchuser/x", QUESTION, data_dir=data_dir, cwd=workdir)
    assert tilde.returncode == 0 and json.loads(tilde.stdout)["no_filter_match"], tilde.stderr


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
    ("options", "fragments"),
    [(["-k", "0"], ["k must be greater than 0"]),
     (["--since", "2024-13-45"], ["--since must be a date", "2024-13-45"]),
     (["--until", "30/06/2008"], ["--until must be a date", "30/06/2008"]),
     (["--since", "2024-05-02", "--until", "2024-01-01"], ["--since 2024-05-02 is after --until 2024-01-01"]),
     # Other ISO forms would be compared as text ("20240101" > "2024-02-01").
     (["--since", "20240101", "--until", "2024-02-01"], ["--since must be a date", "20240101"]),
     (["--since", "2024-W01-1"], ["--since must be a date", "2024-W01-1"])],
    ids=["k-zero", "bad-since", "bad-until", "since-after-until", "basic-form", "week-form"],
)
def test_bad_options_are_one_usage_line(
    indexed: tuple[Path, Path, dict], workdir: Path, options: list[str], fragments: list[str]
) -> None:
    """The date options are named as typed, not by the filter behind them (published_from / published_to)."""
    data_dir, _, _ = indexed
    line = assert_one_error_line(bot("ask", *options, QUESTION, data_dir=data_dir, cwd=workdir), 2, *fragments)
    assert "published_" not in line


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
    assert " 1 file skipped " in result.stdout  # not "1 files"

    listed = bot("sources", "--json", data_dir=data_dir, cwd=workdir)
    assert sorted(a["source"] for a in json.loads(listed.stdout)) == ["bridge.txt", "cafe.txt"]


def test_an_index_run_that_could_read_no_file_fails(tmp_path: Path, workdir: Path) -> None:
    """Every file skipped, nothing indexed, and the exit status said all was well: a CI step went on to questions
    that had no index to answer them. (And a file named with a line break broke its warning in two.)"""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "empty\nnotes.md").write_text("", encoding="utf-8")
    result = bot("index", str(corpus), data_dir=tmp_path / "data", cwd=workdir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["Warning:", "Warning:", "Error:"], result.stderr
    assert lines[0] == f"Warning: {corpus}/empty\\nnotes.md is empty. Add text to it or remove it from the corpus."
    assert lines[-1] == "Error: None of the 2 files found could be indexed; the warnings above say why."
    assert SUMMARY_LINE.match(result.stdout.strip()), result.stdout


def test_remove_takes_a_gone_folder_out_of_the_index(tmp_path: Path, workdir: Path) -> None:
    """A folder deleted (or on a drive that is gone) keeps answering until it is indexed again; `bot remove` takes it
    out without it, and says so in one line when nothing is indexed there (a mistyped path beside it passed
    unseen)."""
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    for folder, text in ((kept, "The Qinhuai River glitters in early summer."),
                         (gone, "The Sutong Bridge carried 130,000 vehicles on Sunday, a record.")):
        folder.mkdir()
        (folder / "story.txt").write_text(f"A headline\n\n{text}\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    for folder in (kept, gone):
        assert bot("index", "--quiet", str(folder), data_dir=data_dir, cwd=workdir).returncode == 0
    shutil.rmtree(gone)

    result = bot("remove", str(gone), str(tmp_path / "gnoe"), data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Removed 1 file (1 chunk); 1 chunk is left in the index."
    assert result.stderr.splitlines() == [f"Warning: Nothing is indexed under {tmp_path / 'gnoe'}. `bot sources` "
                                          "lists every indexed file."]
    listed = json.loads(bot("sources", "--json", data_dir=data_dir, cwd=workdir).stdout)
    assert [a["path"] for a in listed] == [str(kept.resolve() / "story.txt")]
    answer = json.loads(bot("ask", "--json", "How many vehicles did the Sutong Bridge carry on Sunday?",
                            data_dir=data_dir, cwd=workdir).stdout)
    assert answer["abstained"] is True
    assert_one_error_line(bot("remove", str(gone), data_dir=data_dir, cwd=workdir), 2, "Nothing is indexed under",
                          "bot sources")


@pytest.mark.parametrize("path", ["", "  "], ids=["empty", "whitespace"])
def test_an_empty_path_is_refused_before_the_index_is_touched(
    indexed: tuple[Path, Path, dict], tmp_path: Path, path: str
) -> None:
    """Path("") is the current folder: `bot remove ""` used to empty the index, `bot index ""` to index the cwd."""
    data_dir, corpus, summary = indexed
    # Run from inside the indexed corpus, where "" would mean every indexed file.
    assert_one_error_line(bot("remove", path, data_dir=data_dir, cwd=corpus), 2, "bot remove PATH is empty")
    listed = json.loads(bot("sources", "--json", data_dir=data_dir, cwd=corpus).stdout)
    assert len(listed) == 7 and sum(a["chunks"] for a in listed) == summary["chunks_total"]

    (tmp_path / "story.txt").write_text("A headline\n\nThe Sutong Bridge opened in 2008.\n", encoding="utf-8")
    fresh = tmp_path / "data"
    assert_one_error_line(bot("index", path, data_dir=fresh, cwd=tmp_path), 2, "bot index PATH is empty")
    assert_one_error_line(bot("index", str(tmp_path), path, data_dir=fresh, cwd=tmp_path), 2, "is empty")
    assert not fresh.exists()


# --- settings and the data dir -------------------------------------------------------------------------------


def test_a_missing_config_file_names_the_option_given(tmp_path: Path, workdir: Path) -> None:
    line = assert_one_error_line(bot("--config", "nope.toml", "sources", data_dir=tmp_path, cwd=workdir), 2,
                                 "nope.toml", "--config")
    assert "BOT_CONFIG" not in line


@pytest.mark.parametrize("command", [["ask", QUESTION], ["serve"], ["index"]], ids=["ask", "serve", "index"])
def test_a_bad_config_file_is_one_line_on_every_face(tmp_path: Path, workdir: Path, command: list[str]) -> None:
    """BOT_CONFIG at a folder, or at a file that is not TOML: one line naming it, before anything loads or listens."""
    folder = tmp_path / "conf.d"
    folder.mkdir()
    malformed = tmp_path / "bot.yaml"
    malformed.write_text("k: 3\n", encoding="utf-8")
    for path, problem in ((folder, "is a folder"), (malformed, "is not valid TOML")):
        env = clean_env() | {"BOT_CONFIG": str(path)}
        result = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), *command],
                                cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False)
        line = assert_one_error_line(result, 2, f"Config file {path} (given with BOT_CONFIG) {problem}")
        assert "Error: IsADirectoryError" not in line and "-v for details" not in line
    assert not (tmp_path / "data").exists()


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, workdir: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder", encoding="utf-8")
    for data_dir in (afile, afile / "below"):
        line = assert_one_error_line(bot("sources", data_dir=data_dir, cwd=workdir), 2, "is a file", "--data-dir")
        assert "NotADirectoryError" not in line and "FileExistsError" not in line


def test_a_damaged_index_database_is_one_line_saying_what_to_do(tmp_path: Path, workdir: Path) -> None:
    (tmp_path / "chroma").mkdir()
    (tmp_path / "chroma" / "chroma.sqlite3").write_bytes(b"this is not SQLite" * 100)
    line = assert_one_error_line(bot("sources", data_dir=tmp_path, cwd=workdir), 1, "damaged", "bot index",
                                 str(tmp_path / "chroma"))
    assert "InternalError" not in line and "-v" not in line


# --- serve ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_bad_port_is_one_line_before_anything_loads(tmp_path: Path, workdir: Path, port: str) -> None:
    started = time.monotonic()
    line = assert_one_error_line(bot("serve", "--port", port, data_dir=tmp_path, cwd=workdir), 2,
                                 "--port must be between 1 and 65535", port)
    assert "OverflowError" not in line
    assert time.monotonic() - started < 30  # no model load (a generous bound for a busy machine)


@pytest.mark.slow
def test_ctrl_c_stops_serve_quietly(indexed: tuple[Path, Path, dict], workdir: Path) -> None:
    """Not `bot index`'s "What was indexed so far stays searchable": Ctrl-C is how a server is stopped."""
    data_dir, _, _ = indexed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "serve", "--port", str(port)]
    server = subprocess.Popen(command, cwd=workdir, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        deadline = time.monotonic() + 240
        with selectors.DefaultSelector() as selector:
            selector.register(server.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
            line = ""
            while "Chat ready" not in line and time.monotonic() < deadline and server.poll() is None:
                if selector.select(timeout=1):
                    line = server.stdout.readline()  # type: ignore[union-attr]
        assert "Chat ready" in line, server.poll()
        while True:  # wait until uvicorn listens, so its own signal handling is what gets the Ctrl-C
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "bot serve did not come up"
                time.sleep(0.3)
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr and "Interrupted" not in stderr and "stays searchable" not in stderr
    assert stderr.strip().splitlines()[-1] == "Stopped."


# --- eval and feedback -----------------------------------------------------------------------------------------


def results_file(path: Path, passed: Sequence[bool]) -> Path:
    """A `bot eval --output` file whose cases passed or failed as given (each expects "2008")."""
    from bot.evaluate import CaseResult, EvalCase, write_results
    from bot.schema import Answer

    write_results([CaseResult(EvalCase(id=f"c{n}", question=f"q{n}", expected=("2008",)),
                              Answer(question=f"q{n}", answer="In 2008." if ok else "In 2010.", abstained=False,
                                     citations=[], timings_ms={"total": 10.0}))
                   for n, ok in enumerate(passed)], path)
    return path


def test_compare_applies_the_thresholds_to_new(tmp_path: Path, workdir: Path) -> None:
    old = results_file(tmp_path / "old.jsonl", [True, True, True, True])
    new = results_file(tmp_path / "new.jsonl", [True, True, False, False])
    below = bot("eval", "--compare", str(old), str(new), "--min-accuracy", "0.9", data_dir=tmp_path, cwd=workdir)
    assert below.returncode == 1, below.stderr
    assert "Got worse (2):" in below.stdout
    assert below.stderr.strip() == "Below threshold: answer accuracy 0.500 is below --min-accuracy 0.900."
    met = bot("eval", "--compare", str(new), str(old), "--min-accuracy", "0.9", data_dir=tmp_path, cwd=workdir)
    assert met.returncode == 0 and met.stderr == "", met.stderr


def test_compare_refuses_an_empty_results_file_and_a_question_set(tmp_path: Path, workdir: Path) -> None:
    good = results_file(tmp_path / "good.jsonl", [True])
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert_one_error_line(bot("eval", "--compare", str(good), str(empty), data_dir=tmp_path, cwd=workdir), 2,
                          f"Results file {empty} has no cases")
    assert_one_error_line(bot("eval", "set.yaml", "--compare", str(good), str(good), data_dir=tmp_path,
                              cwd=workdir), 2, "not both", "set.yaml")
    assert_one_error_line(bot("eval", "--compare", str(good), str(good), "--min-accuracy", "90",
                              data_dir=tmp_path, cwd=workdir), 2, "--min-accuracy must be between 0 and 1")


def test_eval_shows_no_progress_bar_in_redirected_stderr(
    indexed: tuple[Path, Path, dict], workdir: Path, tmp_path: Path
) -> None:
    data_dir, _, _ = indexed
    questions = tmp_path / "set.yaml"
    questions.write_text(f'- id: sutong\n  question: "{QUESTION}"\n  expected: ["June 30, 2008"]\n',
                         encoding="utf-8")
    log = tmp_path / "stderr.log"
    with log.open("w", encoding="utf-8") as stderr:
        result = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), "eval", str(questions),
                                 "--min-accuracy", "1"], cwd=workdir, env=clean_env(), stdout=subprocess.PIPE,
                                stderr=stderr, text=True, timeout=300, check=False)
    assert result.returncode == 0, log.read_text(encoding="utf-8")
    assert log.read_text(encoding="utf-8") == ""
    assert re.search(r"^answer accuracy +1\.000", result.stdout, re.MULTILINE), result.stdout


def test_feedback_export_with_no_ratings_writes_nothing(tmp_path: Path, workdir: Path) -> None:
    out = tmp_path / "rated.yaml"
    assert_one_error_line(bot("feedback", "export", str(out), data_dir=tmp_path / "data", cwd=workdir), 2,
                          "Nothing to export")
    assert not out.exists()


def test_feedback_export_from_a_damaged_database_is_one_line(tmp_path: Path, workdir: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "feedback.sqlite3").write_bytes(b"this is not SQLite" * 100)
    out = tmp_path / "rated.yaml"
    line = assert_one_error_line(bot("feedback", "export", str(out), data_dir=data_dir, cwd=workdir), 1,
                                 f"The feedback database {data_dir / 'feedback.sqlite3'} is damaged", "Move it aside")
    assert "DatabaseError" not in line and "-v" not in line
    assert not out.exists()


def test_feedback_export_of_a_rated_down_decline_is_an_answerable_case(tmp_path: Path, workdir: Path) -> None:
    from bot.evaluate import load_cases
    from bot.feedback import FeedbackStore

    data_dir = tmp_path / "data"
    FeedbackStore(data_dir / "feedback.sqlite3").add(
        rating="down", question="How much did the bridge cost?", comment="should say 12 billion",
        answer={"answer": "The articles do not say.", "abstained": True, "citations": []})
    out = tmp_path / "rated.yaml"
    result = bot("feedback", "export", str(out), data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0 and result.stdout.strip() == f"Wrote 1 rated answer to {out}.", result.stderr
    assert [(c.answerable, c.expected) for c in load_cases(out)] == [(True, ())]
    assert "Add `expected:`" in out.read_text(encoding="utf-8")


def test_eval_refuses_a_bad_k_and_outputs_it_cannot_write_before_it_runs(tmp_path: Path, workdir: Path) -> None:
    """-k 0 failed every case and exited 0; --output on the question set overwrote it; a folder as --output lost
    the results once the whole run was done."""
    questions = tmp_path / "set.yaml"
    questions.write_text(f'- id: sutong\n  question: "{QUESTION}"\n', encoding="utf-8")
    (tmp_path / "out").mkdir()
    data_dir = tmp_path / "no-index-needed"
    assert_one_error_line(bot("eval", str(questions), "-k", "0", data_dir=data_dir, cwd=workdir), 2,
                          "-k must be greater than 0")
    assert_one_error_line(bot("eval", str(questions), "--output", str(questions), data_dir=data_dir, cwd=workdir), 2,
                          f"--output {questions} is the question set")
    assert_one_error_line(bot("eval", str(questions), "--report", str(tmp_path / "out"), data_dir=data_dir,
                              cwd=workdir), 2, "is a folder")
    assert questions.read_text(encoding="utf-8").startswith("- id: sutong")
    assert not data_dir.exists()  # refused before anything was opened


def test_a_swap_killed_half_way_is_finished_by_the_next_command_with_one_line(
    indexed: tuple[Path, Path, dict], tmp_path: Path, workdir: Path
) -> None:
    """`kill -9` between dropping the old index and renaming the rebuilt one left no index for any command; the
    warning that says so now reads as the command's own lines do (it was "WARNING index.store: ...")."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    data_dir = tmp_path / "data"
    shutil.copytree(indexed[0], data_dir)
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    index = client.get_collection("news")
    index.modify(metadata=dict(index.metadata or {}) | {"rebuild_complete": True})  # as the swap marks it
    index.modify(name="news-rebuild")  # and the old one dropped: the state the kill left

    result = bot("ask", QUESTION, data_dir=data_dir, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "June 30, 2008" in result.stdout
    assert result.stderr.splitlines() == [
        "Warning: A `bot index` was stopped while it swapped a complete rebuild in; the swap is finished now, and "
        f"the rebuild is the index in {data_dir / 'chroma'}."]
    again = bot("ask", QUESTION, data_dir=data_dir, cwd=workdir)
    assert again.returncode == 0 and again.stderr == ""


def test_an_invalid_collection_name_is_one_usage_line(tmp_path: Path, workdir: Path) -> None:
    """It was Chroma's "InvalidArgumentError: Validation error: ..." with exit 1, once the model had loaded."""
    env = clean_env() | {"BOT_COLLECTION": "my news"}
    result = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), "index",
                             str(SEEDS)], cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    line = assert_one_error_line(result, 2, "collection must be", "'my news'")
    assert "InvalidArgumentError" not in line


SIGTERM_ON_SECOND_BATCH = """
import os, signal, sys
import index.build
from index.embedder import Embedder

index.build.WRITE_BATCH = 8
encode, calls = Embedder.encode_chunks, []

def encode_then_kill(self, texts, spans):
    calls.append(len(texts))
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGTERM)  # `kill PID`, or a CI job's time limit
    return encode(self, texts, spans)

Embedder.encode_chunks = encode_then_kill
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_stops_index_as_ctrl_c_does(tmp_path: Path, workdir: Path) -> None:
    """`kill` ended `bot index` without a word, losing what it had embedded of the batch it was writing."""
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    data_dir = tmp_path / "data"
    result = subprocess.run([sys.executable, "-c", SIGTERM_ON_SECOND_BATCH, "--data-dir", str(data_dir), "index",
                             str(corpus)], cwd=workdir, env=clean_env(), capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert result.stderr.strip() == ("Interrupted. What was indexed so far stays searchable; run the command again "
                                     "to finish.")
    listed = bot("sources", "--json", data_dir=data_dir, cwd=workdir)
    assert listed.returncode == 0 and sum(a["chunks"] for a in json.loads(listed.stdout)) == 8, listed.stderr
    finished = json.loads(bot("index", "--json", str(corpus), data_dir=data_dir, cwd=workdir).stdout)
    assert finished["chunks_embedded"] == finished["chunks_total"] - 8


# A `bot` whose pipeline (or article list) is a fake: no model loads, so the subprocess takes a second. The answer
# holds a curly quote and an emoji, which an ASCII stdout cannot encode; STOP_WITH names a signal the process sends
# itself while answering the third question.
FAKE_PIPELINE = """
import os, signal, sys
import bot.chain, bot.indexing
from bot.schema import Answer, Citation, Passage

class Pipeline:
    asked = 0
    def warm_up(self):
        pass
    def ask(self, question, *, history=None, k=None, filters=None):
        Pipeline.asked += 1
        if Pipeline.asked == 3 and os.environ.get("STOP_WITH"):
            os.kill(os.getpid(), getattr(signal, os.environ["STOP_WITH"]))
        text = "Nantong\u2019s bridge opened in 2008 \U0001f600."
        return Answer(question=question, answer=text + " [1]", abstained=False, timings_ms={"total": 1.0},
                      citations=[Citation(1, "Bridge \u2014 news", None, "a.txt", "c1", text, text, 1.0)],
                      passages=[Passage("c1", text, {"title": "Bridge \u2014 news", "source": "a.txt"}, 1.0, 1)])

bot.chain.build_pipeline = lambda settings: Pipeline()
bot.indexing.list_articles = lambda settings: [{"title": "Nantong\u2019s bridge \U0001f600", "published": None,
                                                "source": "a.txt", "path": "/corpus/a.txt", "chunks": 1}]
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def fake_bot(*args: str, data_dir: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FAKE_PIPELINE, "--data-dir", str(data_dir), *args], cwd=cwd,
                          env=clean_env() | env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("signal_name", "status"), [("SIGINT", 130), ("SIGTERM", 128 + signal.SIGTERM)])
def test_an_interrupted_eval_keeps_the_cases_it_finished(tmp_path: Path, workdir: Path, signal_name: str,
                                                         status: int) -> None:
    """Ctrl-C, or `kill` (a CI job's time limit), part-way through a 4-minute `bot eval` left no results, no report
    and no metrics; SIGTERM did not even say "Interrupted."."""
    questions = tmp_path / "set.yaml"
    questions.write_text("".join(f"- {{id: c{n}, question: 'q{n}', expected: ['2008']}}\n" for n in range(5)),
                         encoding="utf-8")
    out, report = tmp_path / "results.jsonl", tmp_path / "report.md"
    result = fake_bot("eval", str(questions), "--output", str(out), "--report", str(report), data_dir=tmp_path,
                      cwd=workdir, STOP_WITH=signal_name)
    assert result.returncode == status, result.stderr
    assert result.stderr.strip() == (f"Interrupted after 2 of 5 cases; results so far in {out}, a partial report in "
                                     f"{report}.")
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["c0", "c1"]
    assert "**Partial: interrupted after 2 of 5 cases.**" in report.read_text(encoding="utf-8")
    assert re.search(r"^answer accuracy +1\.000  \(over 2 cases\)$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^cases +2$", result.stdout, re.MULTILINE)


def test_output_that_cannot_encode_every_character_still_shows_it(tmp_path: Path, workdir: Path) -> None:
    """On a non-UTF-8 stdout, one curly quote or emoji turned `bot ask`, `bot sources` and `bot eval --compare` into
    "Error: UnicodeEncodeError" and lost the whole output."""
    ascii_out = {"PYTHONIOENCODING": "ascii"}
    asked = fake_bot("ask", QUESTION, data_dir=tmp_path, cwd=workdir, **ascii_out)
    assert asked.returncode == 0 and asked.stderr == "", asked.stderr
    assert asked.stdout.startswith("Nantong?s bridge opened in 2008 ?. [1]") and "[1] Bridge ? news" in asked.stdout
    as_json = fake_bot("ask", "--json", QUESTION, data_dir=tmp_path, cwd=workdir, **ascii_out)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["answer"].startswith("Nantong\u2019s bridge")
    listed = fake_bot("sources", data_dir=tmp_path, cwd=workdir, **ascii_out)
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    assert "Nantong?s bridge ?" in listed.stdout and listed.stdout.rstrip().endswith("contains TEXT.")

    questions = tmp_path / "set.yaml"
    questions.write_text("- {id: \"\u00fcn\u00efcode-\U0001f600\", question: q, expected: ['2008']}\n",
                         encoding="utf-8")
    run = tmp_path / "run.jsonl"
    assert fake_bot("eval", str(questions), "--output", str(run), data_dir=tmp_path, cwd=workdir).returncode == 0
    compared = fake_bot("eval", "--compare", str(run), str(run), data_dir=tmp_path, cwd=workdir,
                        PYTHONIOENCODING="latin-1")
    assert compared.returncode == 0 and compared.stderr == "", compared.stderr
    assert "1 cases in both: 0 worse" in compared.stdout


def test_compare_warns_when_the_runs_share_no_case(tmp_path: Path, workdir: Path) -> None:
    old = results_file(tmp_path / "old.jsonl", [True])
    new = tmp_path / "new.jsonl"
    new.write_text(old.read_text(encoding="utf-8").replace('"id": "c0"', '"id": "other"'), encoding="utf-8")
    result = bot("eval", "--compare", str(old), str(new), data_dir=tmp_path, cwd=workdir)
    assert result.returncode == 0
    assert result.stderr.splitlines() == [f"Warning: {old} and {new} have no case id in common: they are runs of "
                                          "different question sets, so no case is compared."]


def test_eval_reads_stdin_writes_results_to_stdout_and_fails_when_a_case_errored(
    indexed: tuple[Path, Path, dict], workdir: Path
) -> None:
    """`bot eval -` read a file named "-", `--output -` wrote one; the article list counted as an abstention; a
    transcript's system turn was refused; a run where cases errored exited 0."""
    data_dir, _, _ = indexed
    system = {"role": "system", "content": "You are a helpful assistant."}
    cases = [{"id": "sutong", "question": QUESTION, "expected": ["June 30, 2008"], "history": [system]},
             {"id": "lib", "question": "What articles do you have?", "small_talk": True, "expected": ["Kunshan"]},
             {"id": "hi", "question": "hi", "small_talk": True},
             # Under the 2,000 characters of the set's check, over what the model reads: it fails when asked.
             {"id": "too-long", "question": "When did the Sutong Bridge open? " + "x " * 300}]
    result = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), "eval", "-", "--output", "-"],
                            input="".join(json.dumps(c) + "\n" for c in cases), cwd=workdir, env=clean_env(),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # nothing but the results on stdout
    assert [row["id"] for row in rows] == ["sutong", "lib", "hi", "too-long"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["sutong"]["verdicts"]["passed"] and by_id["sutong"]["history"] == []
    assert by_id["lib"]["small_talk"] and by_id["lib"]["verdicts"]["passed"]
    assert not by_id["lib"]["verdicts"]["abstained"] and "Kunshan" in by_id["lib"]["answer"]
    assert by_id["hi"]["verdicts"]["passed"] and "error" in by_id["too-long"]
    assert "Traceback" not in result.stderr
    assert re.search(r"^small talk / article list +1\.000  \(over 2 cases\)$", result.stderr, re.MULTILINE)
    assert re.search(r"^abstention precision +n/a$", result.stderr, re.MULTILINE), result.stderr
    assert result.stderr.splitlines()[0].startswith("Warning: Case too-long raised UsageError")
    assert result.stderr.splitlines()[-1] == "1 case errored (counted as failed; the warnings above say why)."
    assert not (workdir / "-").exists()


def test_eval_refuses_an_over_long_question_before_it_runs(tmp_path: Path, workdir: Path) -> None:
    """A question longer than `bot ask` takes was run, and recorded as an error, instead of refused as malformed."""
    questions = tmp_path / "set.jsonl"
    questions.write_text(json.dumps({"id": "ok", "question": QUESTION}) + "\n"
                         + json.dumps({"id": "long", "question": "q" * 3000}) + "\n", encoding="utf-8")
    data_dir = tmp_path / "no-index-needed"
    assert_one_error_line(bot("eval", str(questions), data_dir=data_dir, cwd=workdir), 2,
                          f"{questions}, line 2 (id 'long'): the question is 3000 characters long; `bot ask` takes "
                          "at most 2000")
    assert not data_dir.exists()


def test_a_command_that_finds_no_index_leaves_nothing_behind(tmp_path: Path, workdir: Path) -> None:
    """A mistyped BOT_DATA_DIR left an empty `chroma/` folder behind, though the command refused."""
    questions = tmp_path / "set.yaml"
    questions.write_text(f'- question: "{QUESTION}"\n', encoding="utf-8")
    typo = tmp_path / "dtaa"
    for args in (("sources",), ("ask", QUESTION), ("eval", str(questions)), ("remove", str(tmp_path))):
        result = bot(*args, data_dir=typo, cwd=workdir)
        assert result.returncode in (1, 2) and result.stderr.startswith("Error: "), (args, result.stderr)
        assert not typo.exists(), args
    assert "No index in" in bot("sources", data_dir=typo, cwd=workdir).stderr


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


def test_a_printed_answer_keeps_its_lines_and_each_marker_with_its_word() -> None:
    from bot.cli import format_answer
    from bot.schema import Answer, Citation

    sentence = "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic."
    quoted = Answer(question="q", answer=f"{sentence} [1]", abstained=False, timings_ms={},
                    citations=[Citation(1, "Title", "2024-05-14", "a.txt", "c", sentence, sentence, 1.0)])
    # Wrapped at 100 columns, but "[1]" is not left alone on a line.
    assert format_answer(quoted).splitlines()[:2] == [sentence[:91], "traffic. [1]"]
    # The list of articles stays one per line.
    listing = Answer(question="q", answer="I have 2 articles, newest first:\n\n- One (May 1)\n- Two (May 2)",
                     abstained=True, citations=[], timings_ms={})
    assert format_answer(listing) == "I have 2 articles, newest first:\n\n- One (May 1)\n- Two (May 2)"


# --- operator mistakes and a Chroma server lost mid-run ----------------------------------------------------------


def bot_env(*args: str, data_dir: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`bot` as `bot()` runs it, with these BOT_* settings in its environment."""
    return subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args], cwd=cwd,
                          env=clean_env() | env, capture_output=True, text=True, timeout=300, check=False)


def test_a_reranker_folder_that_cannot_rerank_is_one_line_naming_the_setting(tmp_path: Path, workdir: Path) -> None:
    """An empty folder was "ValueError: Unrecognized model in ..." (and `bot serve` started, then failed every
    question); the embedding model given as the reranker was taken without a word."""
    from index.embedder import packaged_model_path

    empty = tmp_path / "empty"
    empty.mkdir()
    fix = "Point BOT_RERANKER_PATH at a local CrossEncoder folder"
    for folder, why in ((empty, "holds no model (no config.json)"),
                        (packaged_model_path(), "holds a SentenceTransformer model (an embedding model)")):
        for command in (["ask", QUESTION], ["serve", "--port", str(free_port())]):
            result = bot_env(*command, data_dir=tmp_path / "data", cwd=workdir, BOT_RERANKER_PATH=str(folder))
            assert_one_error_line(result, 1, f"Reranker model folder {folder} {why}", fix)
    (workdir / "bot.toml").write_text(f'reranker_path = "{empty}"\n', encoding="utf-8")
    try:  # a value from bot.toml is named there, not as BOT_RERANKER_PATH
        result = bot("ask", QUESTION, data_dir=tmp_path / "data", cwd=workdir)
    finally:
        (workdir / "bot.toml").unlink()
    assert_one_error_line(result, 1, "Point reranker_path in bot.toml at", "or remove reranker_path from bot.toml.")


def test_serve_refuses_a_missing_model_folder_as_the_cli_does(tmp_path: Path, workdir: Path) -> None:
    """`bot serve` said "Chat ready", then answered every question with a 500 naming the server's path."""
    asked = bot_env("ask", QUESTION, data_dir=tmp_path, cwd=workdir, BOT_MODEL_PATH=str(tmp_path / "no-model"))
    served = bot_env("serve", "--port", str(free_port()), data_dir=tmp_path, cwd=workdir,
                     BOT_MODEL_PATH=str(tmp_path / "no-model"))
    line = assert_one_error_line(asked, 1, f"Embedding model folder {tmp_path / 'no-model'} does not exist.")
    assert assert_one_error_line(served, 1) == line


def test_an_unknown_bot_variable_is_warned_about_and_the_command_goes_on(tmp_path: Path, workdir: Path) -> None:
    """BOT_CHROMAURL (for BOT_CHROMA_URL) was ignored without a word."""
    result = bot_env("ask", "hello", data_dir=tmp_path, cwd=workdir, BOT_CHROMAURL="http://127.0.0.1:8000")
    assert result.returncode == 0 and result.stdout.strip()
    assert result.stderr.strip() == ("Warning: BOT_CHROMAURL is not a setting, so it is ignored. Did you mean "
                                     "BOT_CHROMA_URL?")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def on_a_server(tmp_path_factory: pytest.TempPathFactory, workdir: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """A real `chroma run` holding an index of seeds/ (built by `bot index`): (the server, its BOT_* settings)."""
    from tests.index.chroma_process import ChromaProcess

    with ChromaProcess(tmp_path_factory.mktemp("chroma") / "db") as chroma:
        env = {"BOT_CHROMA_URL": chroma.url, "BOT_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
        result = subprocess.run([sys.executable, "-m", "bot", "index", "--quiet", str(SEEDS)], cwd=workdir,
                                env=clean_env() | env, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        yield chroma, env


class Running:
    """A `bot` subprocess fed through stdin, its output collected by threads, waited on with deadlines."""

    def __init__(self, args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=cwd, env=clean_env() | env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads = [threading.Thread(target=self._collect, args=(stream, into), daemon=True)
                        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _collect(stream: Any, into: list[str]) -> None:
        for line in iter(stream.readline, ""):
            into.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, done: Callable[[], bool], seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            assert self.process.poll() is None, (self.process.returncode, self.stdout, self.stderr)
            assert time.monotonic() < deadline, (self.stdout, self.stderr)
            time.sleep(0.1)

    def finish(self) -> int:
        try:
            status = self.process.wait(timeout=120)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        for thread in self.threads:
            thread.join(timeout=10)
        return status


@pytest.mark.slow
def test_chat_says_the_chroma_server_is_lost_and_goes_on(on_a_server: tuple[Any, dict[str, str]],
                                                         workdir: Path) -> None:
    """The chat printed "Error: ConnectError: [Errno 111] Connection refused. ..." and ended, losing the
    conversation; once the server is back, a follow-up is answered in the same conversation."""
    chroma, env = on_a_server
    chat = Running(["chat"], cwd=workdir, env=env)
    try:
        chat.send(QUESTION)
        chat.wait_for(lambda: "Sources:" in chat.stdout)
        chroma.stop()
        chat.send("How many vehicles use it every day?")
        chat.wait_for(lambda: "Error:" in chat.stderr)
        chroma.start()
        chat.send("How many vehicles use it every day?")
        chat.wait_for(lambda: chat.stdout.count("Sources:") == 2)
        chat.send("")
    finally:
        status = chat.finish()
    assert status == 0, chat.stderr
    assert chat.stderr.strip() == (f"Error: The Chroma server at {chroma.url} stopped answering (connection refused). "
                                   f"Start it again with `chroma run --path DIR --host 127.0.0.1 --port {chroma.port}`,"
                                   " then try again.")
    assert "90,000" in chat.stdout.split("Sources:")[1]  # the follow-up, read with the first question


@pytest.mark.slow
def test_eval_stops_in_one_line_when_the_chroma_server_is_lost(on_a_server: tuple[Any, dict[str, str]],
                                                               workdir: Path, tmp_path: Path) -> None:
    """Each case left raised its own "Case ... raised ConnectError" warning (22 of them), then "22 cases errored"."""
    chroma, env = on_a_server
    chroma.start()  # (a fresh start whatever the tests before did)
    cases = tmp_path / "set.yaml"
    cases.write_text("".join(f"- {{id: c{n}, question: '{QUESTION}', expected: ['2008']}}\n" for n in range(40)),
                     encoding="utf-8")
    run = Running(["eval", str(cases), "--output", "-", "--quiet"], cwd=workdir, env=env)
    try:
        run.wait_for(lambda: len(run.out) >= 1)
        run.process.send_signal(signal.SIGSTOP)  # (held while the server goes, so the run cannot finish first)
        try:
            chroma.stop()
        finally:
            run.process.send_signal(signal.SIGCONT)
    finally:
        status = run.finish()
        chroma.start()
    done = len(run.out)
    assert status == 1 and 1 <= done < 40, (status, run.stderr)
    assert run.stderr.strip() == (f"Error: The Chroma server at {chroma.url} stopped answering (connection refused). "
                                  f"Start it again with `chroma run --path DIR --host 127.0.0.1 --port {chroma.port}`,"
                                  f" then try again. `bot eval` stopped after {done} of 40 cases.")


def test_an_answerer_that_does_not_exist_is_one_line_naming_the_setting(tmp_path: Path, workdir: Path) -> None:
    result = bot_env("ask", "When did the Sutong Bridge open?", data_dir=tmp_path, cwd=workdir, BOT_ANSWERER="openai")
    assert assert_one_error_line(result, 2) == (
        "Error: Unknown answerer 'openai' (BOT_ANSWERER). Available: extractive (generative answerers are planned, "
        "not built); unset BOT_ANSWERER.")
