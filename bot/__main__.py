"""Command line: index | ask | chat | eval | bench | run | report | forget | bench-report |
loadtest | faq (lint, apply, suggest)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot import config as configuration
from bot.answer import Answer
from bot.ingest import SeedError
from bot.loader import IndexUnusable

if TYPE_CHECKING:
    from bot.search import Engine

log = logging.getLogger("bot")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML config file (see config.example.toml)")
    p.add_argument("--seeds", type=Path, help="folder of documents and curated data")
    p.add_argument("--db", type=Path, help="index file to build or use")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", help="build the index (skipped when the seeds are unchanged)")
    _common(p)
    p.add_argument("--force", action="store_true", help="rebuild even when up to date")
    p = sub.add_parser("ask", help="answer one question, or one a line from stdin with '-'")
    _common(p)
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.add_argument("question", nargs="+", help="the question, or '-' to read lines from stdin")
    p = sub.add_parser("chat", help="ask questions in the terminal")
    _common(p)
    p = sub.add_parser(
        "eval", help="score a question set (JSONL), or every document's set in a folder"
    )
    _common(p)
    p.add_argument(
        "file", type=Path,
        help="a JSONL question set (scored against --seeds), or a folder of document folders "
        "each with its questions.jsonl (each scored against its own documents alone)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--uncurated", action="store_true",
        help="ignore faq.toml and aliases.toml: the engine on the documents alone",
    )
    p = sub.add_parser(
        "fit", help="refit the confidence model and threshold on the training question sets"
    )
    _common(p)
    p = sub.add_parser("bench", help="measure build time, latency and memory")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--sizes", default="10000,100000", help="synthetic corpus sizes (sentences)")
    p = sub.add_parser("run", help="run the Telegram bot (polling, or webhook per config)")
    _common(p)
    p.add_argument("--webhook", action="store_true", help="webhook mode whatever the config says")
    p = sub.add_parser("report", help="what people asked that the bot could not answer")
    p.add_argument("--config", type=Path, help="TOML config file (its [log] path is read)")
    p.add_argument(
        "--log", type=Path, action="append", metavar="PATH",
        help="a question log to read instead of the config's; repeat to merge several replicas'",
    )
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only questions from this day on (UTC)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object")
    fmt.add_argument("--csv", action="store_true", help="one CSV table with a section column")
    p.set_defaults(seeds=None, db=None)
    p = sub.add_parser(
        "forget", help="delete one person's questions and votes from the question log"
    )
    p.add_argument("--config", type=Path, help="TOML config file (its [log] path and salt)")
    p.add_argument("--user-id", type=int, required=True, help="the person's numeric Telegram id")
    p.set_defaults(seeds=None, db=None)
    p = sub.add_parser(
        "bench-report", help="time the report, /stats and forget on a big synthetic log"
    )
    _common(p)
    p.add_argument("--rows", type=int, default=1_000_000, help="questions (default 1,000,000)")
    p.add_argument("--keep", type=Path, metavar="FILE",
                   help="keep the synthetic log here, or reuse it if it exists")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p = sub.add_parser(
        "loadtest", help="push updates through the real bot against a local fake Bot API"
    )
    _common(p)
    p.add_argument("--updates", type=int, help="updates to push (default 5000; 600 rate-limited)")
    p.add_argument(
        "--users", type=int, default=5000,
        help="simulated users (default 5000, a question each: one person's pile-up of more than"
        " 4 questions is coalesced to the newest, see bot/telegram/inbox.py)",
    )
    p.add_argument(
        "--rate-limiter", action="store_true",
        help="AIORateLimiter on, against a fake that enforces Telegram's flood limits",
    )
    p.add_argument(
        "--rate", type=float, default=0.0,
        help="push this many updates a second (default 0: all at once, a burst)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    _faq_parser(sub)
    return parser


def _faq_parser(sub: argparse._SubParsersAction) -> None:
    """`faq <step>`: the editor's tools, one sub-command each (FAQ_COMMANDS)."""
    faq = sub.add_parser("faq", help="curate the FAQ: lint it, apply reviewed proposals")
    steps = faq.add_subparsers(dest="faq_command", required=True)
    p = steps.add_parser(
        "lint", help="check that every answer says only what its cites say, and more"
    )
    _common(p)
    p = steps.add_parser("apply", help="merge reviewed proposals (a TOML file) into faq.toml")
    _common(p)
    p.add_argument("file", type=Path, help="proposals in the format of seeds/faq.toml")
    p.add_argument(
        "--check", action="store_true",
        help="answer the project's question sets before and after; refuse on a regression",
    )
    p.add_argument("--force", action="store_true", help="merge despite a regression or lint error")
    p.add_argument(
        "--questions", type=Path, action="append", metavar="FILE",
        help="a question set (JSONL) for --check instead of the project's; repeatable",
    )
    p = steps.add_parser(
        "suggest", help="propose phrasings and draft entries from the question log (TOML)"
    )
    _common(p)
    p.add_argument(
        "--log", type=Path, action="append", metavar="PATH",
        help="a question log to read instead of the config's; repeat to merge several replicas'",
    )
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only questions from this day on (UTC)")
    p.add_argument("--min-count", type=int, default=2, metavar="N",
                   help="leave out proposals asked fewer than N times (default 2)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    p.add_argument("--json", action="store_true", help="one JSON object instead of TOML")


def _engine(cfg: configuration.Config) -> Engine:
    from bot.loader import load_engine

    loaded = load_engine(cfg)
    if loaded.warning:
        print(f"warning: {loaded.warning}", file=sys.stderr)
    return loaded.engine


def format_answer(answer: Answer, engine) -> str:
    """Plain-text answer for the terminal."""
    out = []
    if not answer.answered:
        out.append("The document does not answer that.")
        if answer.suggestions:
            out.append("Closest questions it does answer:")
            out += [f"  - {s.question}" for s in answer.suggestions]
        return "\n".join(out + _others(answer))
    if answer.faq:
        out += [answer.faq.answer, ""]
    for e in answer.excerpts[:3]:
        doc = engine.documents.get(e.document)
        source = ", ".join(x for x in (doc.title, doc.publisher, doc.date) if x) if doc else ""
        out.append(textwrap.fill(e.text, 96, initial_indent="  > ", subsequent_indent="    "))
        out.append(f"    ({source or e.document}, paragraph {e.paragraph})")
    out.append(f"(confidence {answer.confidence:.2f})")
    out += _others(answer)
    return "\n".join(out)


def _others(answer: Answer) -> list[str]:
    """The further questions of a message: answered from its first, the rest offered."""
    if not answer.others:
        return []
    return [f"You also asked: {q!r} - ask it on its own and I'll answer it too."
            for q in answer.others]


def cmd_index(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot import index

    status = index.ensure(cfg.seeds, cfg.db, force=args.force)
    if status.warning:
        print(f"warning: {status.warning}", file=sys.stderr)
        return 1
    print(f"{'built' if status.built else 'up to date'}: {status.path}")
    # The FAQ's lint, as warnings, when the FAQ or aliases changed: the editor hears of it, the
    # build stands. An article added to a large library costs no lint of the whole FAQ
    # (`python -m bot faq lint` runs it any time).
    if status.built and index.last_build(cfg.db).get("curated_changed", True):
        from bot.faqlint import lint_seeds
        from bot.search import Engine

        try:
            # The documents as the index holds them: reading the seeds would split them all.
            seeds = index.read_indexed_seeds(cfg.seeds, cfg.db)
            findings = []
            if seeds.faq:  # nothing to lint without a FAQ: no engine loaded for it
                engine = Engine(cfg.db, cfg.matching)
                findings = [str(f) for f in lint_seeds(seeds, engine)]
        except Exception as exc:  # the index is built and good: a lint that fails says so
            findings = [f"could not run ({type(exc).__name__}: {exc})"]
        for finding in findings:
            print(f"warning: faq lint: {finding}", file=sys.stderr)
    return 0


def cmd_ask(args: argparse.Namespace, cfg: configuration.Config) -> int:
    engine = _engine(cfg)
    if args.question == ["-"]:
        from bot.search import iter_questions

        questions = iter_questions(sys.stdin)
    else:
        questions = iter([" ".join(args.question)])
    for q in questions:
        answer = engine.ask(q)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer, engine), flush=True)
    return 0


# What people type to leave a terminal session; never asked as questions.
QUIT_WORDS = frozenset({"quit", "exit", "q", ":q"})


def cmd_chat(args: argparse.Namespace, cfg: configuration.Config) -> int:
    engine = _engine(cfg)
    titles = ", ".join(d.title for d in engine.documents.values())
    print(f"Ask about: {titles}\n(quit, an empty line or Ctrl-D to leave)")
    while True:
        try:
            q = input("? ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not q.strip() or q.strip().casefold() in QUIT_WORDS:
            return 0
        print(format_answer(engine.ask(q), engine), "\n")


def cmd_eval(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.evaluate import (
        documents_json,
        evaluate,
        evaluate_folder,
        evaluate_seeds,
        format_documents,
        format_report,
        load_cases,
    )

    try:
        if args.file.is_dir():
            reports = evaluate_folder(args.file, cfg.matching, uncurated=args.uncurated)
            out = documents_json(reports)
            print(json.dumps(out, indent=2) if args.json else format_documents(reports))
            return 0
        cases = load_cases(args.file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.uncurated:
        report = evaluate_seeds(cfg.seeds, cases, cfg.matching, uncurated=True)
        print(json.dumps(report.to_json(), indent=2) if args.json else format_report(report))
        return 0
    engine = _engine(cfg)
    report = evaluate(engine, cases)
    print(json.dumps(report.to_json(), indent=2) if args.json else format_report(report))
    return 0


def cmd_fit(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.fit import fit, format_fitted, training_results

    print(format_fitted(fit(training_results(cfg.seeds, cfg.matching))))
    return 0


def cmd_bench(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.bench import run_bench

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    return run_bench(cfg, sizes, as_json=args.json)


def cmd_run(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.telegram.app import run

    return run(cfg, webhook=args.webhook)


def cmd_report(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot import report

    since = None
    if args.since is not None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.since):
                raise ValueError(args.since)
            since = date.fromisoformat(args.since)
        except ValueError:
            message = f"error: --since takes a date like 2025-01-31, not {args.since!r}"
            print(message, file=sys.stderr)
            return 2
    paths: list[Path] = args.log or [cfg.log_db]
    missing = [p for p in paths if not p.is_file()]
    if len(missing) == len(paths):
        note = f"no questions logged yet at {', '.join(str(p) for p in paths)}"
        if not (args.json or args.csv):
            print(note)
            return 0
        # The machine formats still print their (empty) shape, so scripts need no special case.
        print(note, file=sys.stderr)
    for path in missing if len(missing) < len(paths) else []:
        print(f"warning: no question log at {path}; reporting the others", file=sys.stderr)
    try:
        result = report.build_report(paths, since)
    except report.LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(report.format_json(result))
    elif args.csv:
        sys.stdout.write(report.format_csv(result))
    else:
        print(report.format_text(result, paths, since))
    return 0


def cmd_forget(args: argparse.Namespace, cfg: configuration.Config) -> int:
    """For requests that reach the admins by other channels than /forget."""
    import sqlite3

    from bot.questionlog import QuestionLog

    if not cfg.log_db.is_file():
        print(f"no question log at {cfg.log_db}: nothing to forget")
        return 0
    try:
        with QuestionLog(
            cfg.log_db, cfg.store_questions, cfg.log_salt or None, cfg.log_keep_days
        ) as question_log:
            gone = question_log.forget(args.user_id)
    except sqlite3.Error as exc:
        print(f"error: cannot change the question log {cfg.log_db}: {exc}", file=sys.stderr)
        return 2
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    print(
        f"removed {n(gone.rows, 'row')} of user {args.user_id} from {cfg.log_db}:"
        f" {n(gone.questions, 'question')}, {n(gone.votes, 'vote')},"
        f" {n(gone.votes_on_their_answers, 'vote')} of others on their answers"
    )
    return 0


def cmd_bench_report(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.bench import run_report_bench

    return run_report_bench(cfg, args.rows, as_json=args.json, keep=args.keep)


def cmd_loadtest(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.loadtest import main as loadtest

    return loadtest(args, cfg)


def cmd_faq_lint(args: argparse.Namespace, cfg: configuration.Config) -> int:
    """Findings one a line; exit 1 when any is an error."""
    from bot.faqlint import ERROR, lint, summary

    findings = lint(cfg.seeds, cfg.matching)
    for f in findings:
        print(f)
    print(summary(findings))
    return 1 if any(f.severity == ERROR for f in findings) else 0


def cmd_faq_apply(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.faqapply import main as apply

    return apply(args, cfg)


def cmd_faq_suggest(args: argparse.Namespace, cfg: configuration.Config) -> int:
    from bot.faqsuggest import main as suggest

    return suggest(args, cfg)


FAQ_COMMANDS = {
    "lint": cmd_faq_lint,
    "apply": cmd_faq_apply,
    "suggest": cmd_faq_suggest,
}


def cmd_faq(args: argparse.Namespace, cfg: configuration.Config) -> int:
    return FAQ_COMMANDS[args.faq_command](args, cfg)


COMMANDS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "eval": cmd_eval,
    "fit": cmd_fit,
    "bench": cmd_bench,
    "run": cmd_run,
    "report": cmd_report,
    "forget": cmd_forget,
    "bench-report": cmd_bench_report,
    "loadtest": cmd_loadtest,
    "faq": cmd_faq,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = configuration.load(args.config, seeds=args.seeds, db=args.db)
        logging.basicConfig(
            level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        return COMMANDS[args.command](args, cfg)
    except configuration.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SeedError, IndexUnusable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
