"""The `bot` command: index, sources, ask, chat, serve, eval, feedback.

A thin face: it builds the one Settings object, calls the pipeline or the indexer, and turns expected errors into
one line on stderr (exit 2 for usage errors, 1 otherwise) - never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from bot import __version__
from bot.errors import BotError, StoreUnavailableError, UsageError
from bot.schema import Answer
from bot.settings import Settings

log = logging.getLogger(__name__)

# Every argument or option that names a file or folder: (command or None for the global options, dest, how the
# user wrote it). They are parsed as text, so an empty one can be refused: Path("") is the current folder, and
# `bot remove ""` would empty the index.
PATH_ARGUMENTS: tuple[tuple[str | None, str, str], ...] = (
    (None, "data_dir", "--data-dir"),
    (None, "config", "--config"),
    ("index", "paths", "bot index PATH"),
    ("remove", "paths", "bot remove PATH"),
    ("eval", "file", "bot eval FILE"),
    ("eval", "output", "--output"),
    ("eval", "report", "--report"),
    ("eval", "compare", "--compare"),
    ("feedback", "file", "bot feedback export FILE"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Ask questions of news articles; answers quote them.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", help="where the index lives (env BOT_DATA_DIR, default .bot/)")
    parser.add_argument("--config", help="a TOML settings file (env BOT_CONFIG, default ./bot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    index = commands.add_parser("index", help="index article folders (default: the corpus setting, seeds/)")
    index.add_argument("paths", nargs="*", metavar="PATH",
                       help="folders or files to index (default: the corpus setting, seeds/)")
    index.add_argument("--rebuild", action="store_true",
                       help="build the index again from these folders alone, beside the one in use, which answers "
                            "until the new one replaces it")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.add_argument("--quiet", action="store_true", help="no progress bar")

    remove = commands.add_parser("remove", help="take files or folders out of the index (the files stay on disk)")
    remove.add_argument("paths", nargs="+", metavar="PATH",
                        help="indexed files or folders; they need not exist any more")

    sources = commands.add_parser("sources", help="list every indexed article")
    sources.add_argument("--json", action="store_true", help="print JSON")

    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question", help="the question (quote it)")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("-k", type=int, default=None, help="passages to retrieve (default: the k setting, 5)")
    ask.add_argument("--source", help="only articles whose source, as `bot sources` shows it (the file's path in "
                                      "the folder it was indexed from), contains this; case is ignored")
    ask.add_argument("--since", dest="published_from", metavar="DATE",
                     help="only articles published on or after (YYYY-MM-DD)")
    ask.add_argument("--until", dest="published_to", metavar="DATE",
                     help="only articles published on or before (YYYY-MM-DD)")

    commands.add_parser("chat", help="a conversation in the terminal (follow-up questions work)")

    serve = commands.add_parser("serve", help="start the web chat, REST API and widget")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 7860)")

    evaluate = commands.add_parser("eval", help="run a question set and report its metrics")
    evaluate.add_argument("file", nargs="?", help="question set (YAML, or JSONL: cases or RAGAS rows); - reads stdin")
    evaluate.add_argument("--output", help="write one JSON line per case here (- : stdout, the summary to stderr)")
    evaluate.add_argument("--report", help="write a Markdown report here (- : stdout, the summary to stderr)")
    evaluate.add_argument("--min-accuracy", type=float,
                          help="exit 1 when answer accuracy is below this (with --compare: NEW's)")
    evaluate.add_argument("--min-abstention", type=float,
                          help="exit 1 when abstention recall is below this (with --compare: NEW's)")
    evaluate.add_argument("-k", type=int, default=None, help="passages to retrieve (default: the k setting, 5)")
    evaluate.add_argument("--split", help="only cases of this split (e.g. heldout)")
    evaluate.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"),
                          help="compare two results files instead of running (no FILE)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")

    feedback = commands.add_parser("feedback", help="work with thumbs up/down from the chat")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", metavar="ACTION")
    feedback_commands.required = True
    export = feedback_commands.add_parser("export", help="write the rated answers as a question set for bot eval")
    export.add_argument("file", help="the question set to write (YAML); an existing file is replaced")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(ForTheUser())
        logging.basicConfig(level=logging.WARNING, handlers=[handler])
        _quiet_libraries()
    _replace_unencodable()
    # The packaged model is on disk; never ask a hub for it.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    settings: Settings | None = None
    try:
        _paths_from_args(args)
        settings = _load_settings(args)
        return int(COMMANDS[args.command](args, settings) or 0)
    except KeyboardInterrupt as stop:
        if args.command == "serve":  # Ctrl-C is how a server is stopped
            print("Stopped.", file=sys.stderr)
            return 0
        if args.command == "index":
            print("Interrupted. What was indexed so far stays searchable; run the command again to finish.",
                  file=sys.stderr)
        else:
            print("Interrupted.", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(stop, Terminated) else 130
    except BrokenPipeError:  # `bot sources | head`: the reader left; nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the one place errors become user text
        return _report(exc, settings)


def _replace_unencodable() -> None:
    """On an output that cannot show every character (PYTHONIOENCODING=ascii, a Latin-1 terminal), one curly quote
    in an answer raised UnicodeEncodeError and the whole answer was lost: such characters are shown as "?" instead.
    (stderr does the like already: Python writes it with backslash escapes.)"""
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")


def _ascii_json() -> bool:
    """Whether --json output must escape non-ASCII characters (\\u2019): stdout cannot encode them all, and JSON
    with "?" in place of a character would change the data, not just its look."""
    import codecs

    try:
        return not codecs.lookup(sys.stdout.encoding or "ascii").name.startswith("utf")
    except LookupError:
        return True


class ForTheUser(logging.Formatter):
    """A warning logged during a command, worded as the command's own messages are ("Warning: ..."): one line,
    without the module's name or a traceback (-v shows those). An error logged with its exception (a request that
    failed in `bot serve`) keeps the traceback under that line: it is a bug to diagnose."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.capitalize()}: {one_line(record.getMessage())}"
        if record.levelno >= logging.ERROR and record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a CI job's time limit) during `bot index` or `bot eval`: it stops as Ctrl-C does, keeping
    what was done (the chunks embedded, the cases answered)."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _paths_from_args(args: argparse.Namespace) -> None:
    """Turn the file and folder arguments into Paths, refusing empty ones (they would mean the current folder)."""
    for command, dest, shown in PATH_ARGUMENTS:
        if command not in (None, args.command):
            continue
        value = getattr(args, dest, None)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if any(not v.strip() for v in values):
            raise UsageError(f"{shown} is empty, which would mean the whole current folder. "
                             "Give a file or folder (`.` for the current folder).")
        setattr(args, dest, [Path(v) for v in values] if isinstance(value, list) else Path(value))


def _load_settings(args: argparse.Namespace) -> Settings:
    """The settings, with a bad --config or data dir named the way the user gave it."""
    settings = Settings.load(config_file=args.config, config_origin="--config", env=os.environ,
                             data_dir=args.data_dir)
    if not (args.command == "eval" and args.compare):  # comparing results files needs no data dir
        _check_data_dir(settings.data_dir, _data_dir_origin(args))
    return settings


def _data_dir_origin(args: argparse.Namespace) -> str:
    if args.data_dir is not None:
        return "--data-dir"
    return "BOT_DATA_DIR" if os.environ.get("BOT_DATA_DIR") else "the data_dir setting"


def _check_data_dir(data_dir: Path, origin: str) -> None:
    """The data dir must be a folder, or a path where one can be made (it is created on first use)."""
    blocker = next((p for p in (data_dir, *data_dir.parents) if p.exists()), None)
    if blocker is None or blocker.is_dir():
        return
    where = f"{data_dir} is a file" if blocker == data_dir else f"{data_dir} is inside {blocker}, which is a file"
    raise UsageError(f"The data dir {where}, not a folder. Point {origin} at a folder "
                     "(a new one is created on first use).")


def _report(exc: Exception, settings: Settings | None = None) -> int:
    from index.errors import CorpusError, IndexingError

    if isinstance(exc, BotError):
        print(f"Error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, IndexingError):
        print(f"Error: {one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, CorpusError) else 1
    damaged = _damaged_database(exc, settings)
    if damaged:
        log.info("damaged database", exc_info=True)
        print(f"Error: {one_line(damaged)}", file=sys.stderr)
        return 1
    log.info("unexpected error", exc_info=True)  # shown with -v
    print(f"Error: {type(exc).__name__}: {one_line(exc)}. Run with -v for details.", file=sys.stderr)
    return 1


# Characters that would break a message's one line (or garble the terminal); a file may be named with them.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u0085\u2028\u2029]")


def one_line(message: object) -> str:
    """The message on one line: a control character in it (a file named with a line break) is shown escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(message))


def _damaged_database(exc: Exception, settings: Settings | None) -> str | None:
    """What to do about an index database that SQLite cannot read, or None for other errors. (The feedback store
    says so itself, with a FeedbackStoreError.)"""
    # Chroma's Rust layer says "error returned from database: (code: 26) file is not a database".
    reason = re.sub(r"^.*\(code: \d+\)", "", str(exc)).strip()
    # SQLite's words for a file that is not (or no longer) a database; "locked" and the like are not damage.
    if not any(words in reason for words in ("not a database", "malformed")):
        return None
    if type(exc).__module__.startswith("chromadb"):
        if settings is None or settings.chroma_url:
            return f"The Chroma store cannot read its database ({reason}). Check the store, or rebuild it."
        return (f"The index in {settings.chroma_dir} is damaged (chroma.sqlite3: {reason}). Move that folder "
                "aside (or delete it) and run `bot index` to build the index again.")
    return None


def _quiet_libraries() -> None:
    for name in ("sentence_transformers", "transformers", "chromadb", "httpx", "bm25s", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except ImportError:  # transformers comes with sentence-transformers; tolerate its absence anyway
        pass


# --- commands ------------------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from bot.indexing import make_indexer

    paths = list(args.paths) or list(settings.corpus)
    indexer = make_indexer(settings, progress=not (args.quiet or args.json))
    with _terminate_as_interrupt():
        summary = indexer.run(paths, rebuild=args.rebuild,
                              on_warning=lambda message: print(f"Warning: {one_line(message)}",
                                                               file=sys.stderr))
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(summary.line())
    if summary.files == 0 and summary.files_skipped:  # a CI step must not pass when it indexed nothing
        if summary.files_skipped == 1:
            print("Error: The one file found could not be indexed; the warning above says why.", file=sys.stderr)
        else:
            print(f"Error: None of the {summary.files_skipped} files found could be indexed; the warnings above say "
                  "why.", file=sys.stderr)
        return 1
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from bot.indexing import make_indexer

    summary = make_indexer(settings, progress=False).remove(args.paths)
    if not summary.files_removed:
        shown = " ".join(str(p) for p in args.paths)
        raise UsageError(f"Nothing is indexed under {shown}. `bot sources` lists every indexed file and the folder "
                         "it was indexed from.")
    for message in summary.warnings:  # a path beside others that were taken out
        print(f"Warning: {one_line(message)} `bot sources` lists every indexed file.", file=sys.stderr)
    from index.build import counted

    left = "1 chunk is" if summary.chunks_total == 1 else f"{summary.chunks_total} chunks are"
    print(f"Removed {counted(summary.files_removed, 'file')} ({counted(summary.chunks_removed, 'chunk')}); "
          f"{left} left in the index.")
    return 0


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from bot.indexing import list_articles
    from index.build import counted

    articles = list_articles(settings)
    if args.json:
        print(json.dumps(articles, indent=2, ensure_ascii=_ascii_json()))
        return 0
    for a in articles:
        # The source first, as citations show it and as `--source` matches it; then where its file lives.
        folder = Path(a["path"]).parents[max(len(PurePosixPath(a["source"]).parts), 1) - 1]
        print(f"{a['published'] or '(no date)':<10}  {a['title']}\n"
              f"            {a['source']}  ({counted(a['chunks'], 'chunk')}, indexed from {folder})")
    print(f"{counted(len(articles), 'article')}. `bot ask --source TEXT` asks only those whose source (as above) "
          "contains TEXT.")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chain import build_pipeline
    from bot.indexing import check_models

    filters = {"source": _source_filter(args.source)} if args.source else {}
    filters |= _date_filters(args)
    check_models(settings, embedder=False)  # (the pipeline checks the embedding model itself, when it needs it)
    answer = build_pipeline(settings).ask(args.question, k=args.k, filters=filters or None)
    print(json.dumps(answer.to_dict(), ensure_ascii=_ascii_json()) if args.json else format_answer(answer))
    return 0


def _source_filter(value: str) -> str:
    """--source as the filter matches it: a part of an article's source, a path inside the folder it was indexed
    from. A full path to a file on disk can never match one, so it is refused with what to type."""
    given = Path(value.strip())
    if value.strip().startswith("~"):
        try:
            given = given.expanduser()
        except RuntimeError:  # "~nosuchuser/x": no such home, so no such file either
            return value
    if given.is_absolute() and given.is_file():
        raise UsageError(f"--source {value} is a full path; it matches the source `bot sources` shows, the file's "
                         f"path inside the folder it was indexed from. Try --source {given.name}.")
    return value


def _date_filters(args: argparse.Namespace) -> dict[str, str]:
    """--since / --until checked here, so a bad date names the option typed (and fails before the model loads)."""
    dates: dict[str, str] = {}
    for option, key in (("--since", "published_from"), ("--until", "published_to")):
        value = (getattr(args, key) or "").strip()
        if not value:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{option} must be a date like 2024-05-14. Currently, it is {value!r}.") from None
        dates[key] = value
    since, until = dates.get("published_from"), dates.get("published_to")
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}: no article can match.")
    return dates


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chain import build_pipeline
    from bot.indexing import check_models
    from index.errors import IndexingError

    check_models(settings, embedder=False)
    pipeline = build_pipeline(settings)
    pipeline.warm_up()
    history: list[dict[str, str]] = []
    print("Ask about the articles. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        try:
            answer = pipeline.ask(question, history=history)
        except (BotError, IndexingError) as exc:
            # The conversation goes on: a Chroma server that stopped answering may be back for the next question.
            print(f"Error: {one_line(exc)}", file=sys.stderr)
            continue
        print(format_answer(answer))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535. Currently, it is {args.port}.")
    from bot.web.app import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot import evaluate

    evaluate.validate_thresholds(min_accuracy=args.min_accuracy, min_abstention=args.min_abstention)
    if args.compare:
        return _compare(args)
    if args.file is None:
        raise UsageError("bot eval needs a question-set FILE (or --compare OLD NEW).")
    if args.k is not None and args.k <= 0:  # else every case would fail alone, after the whole run
        raise UsageError(f"-k must be greater than 0. Currently, it is {args.k}.")
    from bot.chain import build_pipeline
    from bot.indexing import check_models

    cases = evaluate.load_cases(args.file, split=args.split, max_question_chars=settings.max_question_chars)
    # Checked before the run, which may take long: a path that cannot be written would lose its results.
    evaluate.check_output_paths(args.file, {"--output": args.output, "--report": args.report})
    check_models(settings, embedder=False)
    k = args.k if args.k is not None else settings.k  # recorded in the results and the report
    results: list[evaluate.CaseResult] = []
    # Ctrl-C or SIGTERM (a CI job's time limit) part-way keeps the cases done: each is in --output as it finishes,
    # and the report and metrics cover them, marked partial.
    with _terminate_as_interrupt():
        try:
            pipeline = build_pipeline(settings)
            pipeline.warm_up()
            with evaluate.ResultsWriter(args.output) as writer:
                for result in evaluate.iter_cases(pipeline, cases, k=k, progress=not args.quiet):
                    # (Written first: a case the metrics count is on disk too.)
                    writer.write(result)
                    results.append(result)
        except KeyboardInterrupt as stop:
            return _eval_interrupted(stop, args, results, total=len(cases), k=k)
        except StoreUnavailableError as exc:
            # One line, not a warning for each case left: every one of them would fail the same way.
            return _eval_store_lost(exc, args, done=len(results), total=len(cases))
    metrics = evaluate.compute_metrics(results)
    if args.report:
        evaluate.write_report(metrics, results, args.report, k=k)
    print(evaluate.format_metrics(metrics), file=_summary_stream(args))
    status = _thresholds(metrics, args)
    if metrics["errors"]:  # a case that could not run is no result to pass a CI job on
        from index.build import counted

        print(f"{counted(int(metrics['errors']), 'case')} errored (counted as failed; the warnings above say why).",
              file=sys.stderr)
        return 1
    return status


def _summary_stream(args: argparse.Namespace) -> Any:
    """Where the metrics go: stdout, unless the results or the report are written there (`-`)."""
    from bot.evaluate import is_std_stream

    return sys.stderr if is_std_stream(args.output) or is_std_stream(args.report) else sys.stdout


def _eval_interrupted(stop: KeyboardInterrupt, args: argparse.Namespace, results: list[Any], *, total: int,
                      k: int) -> int:
    """What an interrupted `bot eval` leaves: the metrics and report of the cases done, and one line saying so."""
    from bot import evaluate

    status = 128 + signal.SIGTERM if isinstance(stop, Terminated) else 130
    if not results:
        print(f"Interrupted before any of the {total} cases finished; nothing was written.", file=sys.stderr)
        return status
    metrics = evaluate.compute_metrics(results)
    if args.report:
        evaluate.write_report(metrics, results, args.report, k=k, total=total)
    print(evaluate.format_metrics(metrics), file=_summary_stream(args))

    def where(path: Path) -> str:
        return "on stdout" if evaluate.is_std_stream(path) else f"in {path}"

    kept = ([f"results so far {where(args.output)}"] if args.output else []) + (
        [f"a partial report {where(args.report)}"] if args.report else [])
    print(f"Interrupted after {len(results)} of {total} cases" + (f"; {', '.join(kept)}" if kept else "") + ".",
          file=sys.stderr)
    return status


def _eval_store_lost(exc: Exception, args: argparse.Namespace, *, done: int, total: int) -> int:
    """The Chroma server failed part-way through `bot eval`: its one line, and what was kept."""
    from bot.evaluate import is_std_stream

    kept = ""
    if done:
        kept = f" `bot eval` stopped after {done} of {total} cases" + (
            f"; their results are in {args.output}." if args.output and not is_std_stream(args.output) else ".")
    print(f"Error: {one_line(exc)}{kept}", file=sys.stderr)
    return 1


def _compare(args: argparse.Namespace) -> int:
    """`bot eval --compare OLD NEW`: the differences, with the thresholds applied to NEW (as a CI gate would)."""
    from bot import evaluate

    if args.file is not None:
        raise UsageError(f"Give a question-set FILE or --compare OLD NEW, not both ({args.file} was given too).")
    ignored = [option for option, value in (("--split", args.split), ("-k", args.k), ("--output", args.output),
                                            ("--report", args.report)) if value is not None]
    if ignored:
        raise UsageError(f"--compare reads two results files and runs nothing, so it takes no {ignored[0]}. "
                         "Run `bot eval FILE --output NEW.jsonl` first, then compare.")
    old, new = args.compare
    print(evaluate.compare_results(old, new))
    return _thresholds(evaluate.results_metrics(new), args)


def _thresholds(metrics: dict[str, float | int], args: argparse.Namespace) -> int:
    from bot import evaluate

    missed = evaluate.check_thresholds(metrics, min_accuracy=args.min_accuracy, min_abstention=args.min_abstention)
    for line in missed:
        print(f"Below threshold: {line}", file=sys.stderr)
    return 1 if missed else 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feedback import FeedbackStore
    from index.build import counted

    count = FeedbackStore(settings.feedback_db).export_question_set(args.file)
    print(f"Wrote {counted(count, 'rated answer')} to {args.file}.")
    return 0


COMMANDS: dict[str, Any] = {"index": cmd_index, "remove": cmd_remove, "sources": cmd_sources, "ask": cmd_ask,
                            "chat": cmd_chat, "serve": cmd_serve, "eval": cmd_eval, "feedback": cmd_feedback}


def format_answer(answer: Answer) -> str:
    """The answer for a person: text with [n] markers, then the numbered sources with title, date and quote."""
    lines = [_fill(answer.answer)]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {c.title} ({c.published or 'no date'}) - {c.source}")
            lines.append(_fill(f"\u201c{c.quote.strip()}\u201d", indent="      "))
    return "\n".join(lines)


def _fill(text: str, *, indent: str = "") -> str:
    """Wrapped at 100 columns, each line on its own (the list of articles is one per line), and a [n] kept with the
    word before it (a no-break space, which textwrap does not break at, holds them together while wrapping)."""
    return "\n".join(
        textwrap.fill(line.replace(" [", "\u00a0["), width=100, initial_indent=indent, subsequent_indent=indent)
        .replace("\u00a0", " ") if line.strip() else "" for line in text.splitlines())
