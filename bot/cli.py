"""The `bot` command: index, sources, ask, chat, serve, eval, feedback.

A thin face: it builds the one Settings object, calls the pipeline or the indexer, and turns expected errors into
one line on stderr (exit 2 for usage errors, 1 otherwise) - never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.errors import BotError, UsageError
from bot.schema import Answer
from bot.settings import Settings

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Ask questions of news articles; answers quote them.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", type=Path, help="where the index lives (env BOT_DATA_DIR, default .bot/)")
    parser.add_argument("--config", type=Path, help="a TOML settings file (env BOT_CONFIG, default ./bot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    index = commands.add_parser("index", help="index article folders (default: seeds/)")
    index.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="folders or files to index")
    index.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.add_argument("--quiet", action="store_true", help="no progress bar")

    remove = commands.add_parser("remove", help="take files or folders out of the index (the files stay on disk)")
    remove.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="indexed files or folders; they need not exist any more")

    sources = commands.add_parser("sources", help="list every indexed article")
    sources.add_argument("--json", action="store_true", help="print JSON")

    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question", help="the question (quote it)")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.add_argument("-k", type=int, default=None, help="passages to retrieve (default 5)")
    ask.add_argument("--source", help="only articles whose source contains this")
    ask.add_argument("--since", dest="published_from", help="only articles published on or after (YYYY-MM-DD)")
    ask.add_argument("--until", dest="published_to", help="only articles published on or before (YYYY-MM-DD)")

    commands.add_parser("chat", help="a conversation in the terminal (follow-up questions work)")

    serve = commands.add_parser("serve", help="start the web chat, REST API and widget")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 7860)")

    evaluate = commands.add_parser("eval", help="run a question set and report its metrics")
    evaluate.add_argument("file", nargs="?", type=Path, help="question set (YAML or JSONL)")
    evaluate.add_argument("--output", type=Path, help="write one JSON line per case here")
    evaluate.add_argument("--report", type=Path, help="write a Markdown report here")
    evaluate.add_argument("--min-accuracy", type=float, help="exit 1 when answer accuracy is below this")
    evaluate.add_argument("--min-abstention", type=float, help="exit 1 when abstention recall is below this")
    evaluate.add_argument("-k", type=int, default=None, help="passages to retrieve")
    evaluate.add_argument("--split", help="only cases of this split (e.g. heldout)")
    evaluate.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"),
                          help="compare two results files instead of running")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")

    feedback = commands.add_parser("feedback", help="work with thumbs up/down from the chat")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", metavar="ACTION")
    feedback_commands.required = True
    export = feedback_commands.add_parser("export", help="write the rated answers as a question set for bot eval")
    export.add_argument("file", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        _quiet_libraries()
    # The packaged model is on disk; never ask a hub for it.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        settings = Settings.load(config_file=args.config, env=os.environ, data_dir=args.data_dir)
        return int(COMMANDS[args.command](args, settings) or 0)
    except KeyboardInterrupt:
        print("Interrupted. The index stays usable; run the command again to finish.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bot sources | head`: the reader left; nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the one place errors become user text
        return _report(exc)


def _report(exc: Exception) -> int:
    from index.errors import CorpusError, IndexingError

    if isinstance(exc, BotError):
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, IndexingError):
        print(f"Error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, CorpusError) else 1
    log.info("unexpected error", exc_info=True)  # shown with -v
    print(f"Error: {type(exc).__name__}: {exc}. Run with -v for details.", file=sys.stderr)
    return 1


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
    summary = indexer.run(paths, rebuild=args.rebuild,
                          on_warning=lambda message: print(f"Warning: {message}", file=sys.stderr))
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(summary.line())
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from bot.indexing import make_indexer

    summary = make_indexer(settings, progress=False).remove(args.paths)
    if not summary.files_removed:
        shown = " ".join(str(p) for p in args.paths)
        raise UsageError(f"Nothing is indexed under {shown}. `bot sources` lists every indexed file's path.")
    print(f"Removed {summary.files_removed} files ({summary.chunks_removed} chunks); "
          f"{summary.chunks_total} chunks are left in the index.")
    return 0


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from bot.indexing import list_articles

    articles = list_articles(settings)
    if args.json:
        print(json.dumps(articles, indent=2, ensure_ascii=False))
        return 0
    for a in articles:
        print(f"{a['published'] or '(no date)':<10}  {a['title']}\n            {a['path']}  ({a['chunks']} chunks)")
    print(f"{len(articles)} articles.")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chain import build_pipeline

    filters = {key: getattr(args, key) for key in ("source", "published_from", "published_to")
               if getattr(args, key)}
    answer = build_pipeline(settings).ask(args.question, k=args.k, filters=filters or None)
    print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else format_answer(answer))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chain import build_pipeline

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
        except BotError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            continue
        print(format_answer(answer))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web.app import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot import evaluate

    if args.compare:
        print(evaluate.compare_results(*args.compare))
        return 0
    if args.file is None:
        raise UsageError("bot eval needs a question-set FILE (or --compare OLD NEW).")
    from bot.chain import build_pipeline

    cases = evaluate.load_cases(args.file, split=args.split)
    pipeline = build_pipeline(settings)
    pipeline.warm_up()
    results = evaluate.run_cases(pipeline, cases, k=args.k, progress=not args.quiet)
    metrics = evaluate.compute_metrics(results)
    if args.output:
        evaluate.write_results(results, args.output)
    if args.report:
        evaluate.write_report(metrics, results, args.report)
    print(evaluate.format_metrics(metrics))
    missed = evaluate.check_thresholds(metrics, min_accuracy=args.min_accuracy, min_abstention=args.min_abstention)
    for line in missed:
        print(f"Below threshold: {line}", file=sys.stderr)
    return 1 if missed else 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feedback import FeedbackStore

    count = FeedbackStore(settings.feedback_db).export_question_set(args.file)
    print(f"Wrote {count} rated answers to {args.file}.")
    return 0


COMMANDS: dict[str, Any] = {"index": cmd_index, "remove": cmd_remove, "sources": cmd_sources, "ask": cmd_ask,
                            "chat": cmd_chat, "serve": cmd_serve, "eval": cmd_eval, "feedback": cmd_feedback}


def format_answer(answer: Answer) -> str:
    """The answer for a person: text with [n] markers, then the numbered sources with title, date and quote."""
    lines = [textwrap.fill(answer.answer, width=100)]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {c.title} ({c.published or 'no date'}) - {c.source}")
            lines.append(textwrap.fill(f"\u201c{c.quote.strip()}\u201d", width=100, initial_indent="      ",
                                       subsequent_indent="      "))
    return "\n".join(lines)
