"""`python -m bot loadtest`: push many updates through the real bot and measure what comes back.

The real Application (build_application: every handler, concurrent updates, the question log)
polls a local fake Bot API (tests/fakes/bot_api.py, which validates every request as Telegram
would). Simulated users send private questions; the fake records when each reply arrives. The
figures: throughput, update-to-reply latency, peak memory, errors, and question-log rows written
against updates pushed (they must be equal: nothing lost).

Two modes. Without the rate limiter it measures capacity. With it (`--rate-limiter`) the fake
enforces Telegram's flood limits and the run shows that every update is answered without a
single 429; the bot sends at most `requests_per_second` (25) a second, so that run is short by
default (600 updates, ~25 s). A busy bot sheds the "typing" action (see
`handlers.lightly_loaded`): the report counts those sent, and CPU per update for each side.

Why it needs a checkout of the repository: the fake lives with the tests (tests/fakes/), and
validates against Telegram's api.json from ../shared/, neither of which is part of the package.
An installed copy has no load test of its own: it says so in one line, and runs with the fake of
a checkout named by $DOCBOT_CHECKOUT. Nothing is imported from a `tests` package by name, so a
stray `tests` package in site-packages is never mistaken for the checkout's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import importlib.util
import json
import logging
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.config import Config

ROOT = Path(__file__).resolve().parents[1]
FAKES = ROOT / "tests" / "fakes"  # when the package runs from a checkout
CHECKOUT_ENV = "DOCBOT_CHECKOUT"  # a checkout whose fake an installed copy may use
DEFAULT_UPDATES = 5000
DEFAULT_UPDATES_RATE_LIMITED = 600
FIRST_USER = 10_000_001  # simulated user ids (private chat id = user id, as in Telegram)
SETTLE_SECONDS = 0.5  # quiet time after the last reply, to catch stray extra messages


class Unavailable(Exception):
    """The load test cannot run here (no tests/fakes, or the dev extras are missing)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    updates: int
    users: int
    rate_limiter: bool
    push_rate: float
    answered: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    peak_mb: float
    bot_cpu_ms: float  # CPU per update: the bot's process, and the fake Bot API's
    fake_cpu_ms: float
    typing: int  # "typing" actions sent: the bot sheds them while busy
    errors: int
    rejected: int  # 4xx the fake answered (malformed requests), injected faults excluded
    flood_429: int
    log_rows: int

    @property
    def lost_rows(self) -> int:
        return self.updates - self.log_rows

    @property
    def ok(self) -> bool:
        clean = self.errors == 0 and self.rejected == 0 and self.flood_429 == 0
        return clean and self.answered == self.updates and self.lost_rows == 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"lost_rows": self.lost_rows, "ok": self.ok}


def checkout() -> Path:
    """The repository the fake (and the question set) come from: $DOCBOT_CHECKOUT, else the
    folder this package sits in, which is a checkout unless the package was installed."""
    env = os.environ.get(CHECKOUT_ENV)
    return Path(env).expanduser() if env else ROOT


def fakes_dir() -> Path:
    return checkout() / "tests" / "fakes" if os.environ.get(CHECKOUT_ENV) else FAKES


def fake_bot_api() -> ModuleType:
    """tests/fakes/bot_api.py, imported from its path under a private package name (so a
    `tests` package installed elsewhere cannot shadow it), with the api.json it validates
    against found: every way it can be missing is one line saying what to do."""
    fakes = fakes_dir()
    if not (fakes / "bot_api.py").is_file():
        raise Unavailable(
            f"the load test needs the fake Bot API in {fakes}, which is not installed with the "
            f"package: run it from a checkout of the repository, or set {CHECKOUT_ENV} to one"
        )
    name = "_docbot_fakes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, fakes / "__init__.py", submodule_search_locations=[str(fakes)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    try:
        module = importlib.import_module(f"{name}.bot_api")
    except ImportError as exc:
        raise Unavailable(
            f"the fake Bot API needs the dev extras (pip install -e '.[dev]'): {exc}"
        ) from exc
    try:
        module.ApiSpec.load()  # cached: the fake's process reads it again, the bot's never
    except FileNotFoundError as exc:
        raise Unavailable(f"the fake Bot API cannot validate requests: {exc}") from exc
    return module


def questions(engine: Any) -> list[str]:
    """The project's own question set when present (answered and refused ones alike), else the
    FAQ questions."""
    own = checkout() / "tests" / "data" / "questions.jsonl"
    if own.is_file():
        lines = own.read_text(encoding="utf-8").splitlines()
        found = [json.loads(line)["q"] for line in lines if line.strip()]
        if found:
            return found
    return [s.question for s in engine.faq_list()] or ["What is this about?"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM questions").fetchone()[0]
    finally:
        conn.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """What the fake's process pushes: `updates` questions from `users` users."""

    updates: int
    users: int
    questions: list[str]
    flood_limits: bool
    push_rate: float = 0.0
    seed: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Measured:
    """What the fake's process saw: latencies (s), the span from first push to last reply."""

    latencies: list[float]
    seconds: float
    rejected: int
    flood_429: int
    cpu_seconds: float  # the fake's own CPU over the run
    typing: int  # "typing" actions received


async def _serve_plan(conn: Any) -> None:
    """The fake's process: serve the Bot API, push the plan when told, time every reply."""
    fakes = fake_bot_api()
    async with fakes.FakeBotApi(flood_limits=conn.recv()) as fake:
        conn.send((fake.token, fake.base_url))
        plan: Plan = await asyncio.to_thread(conn.recv)
        rng = random.Random(plan.seed)
        pushed: dict[int, deque[float]] = defaultdict(deque)
        latencies: list[float] = []
        seen = 0
        cpu = time.process_time()
        started = last = time.monotonic()
        for i in range(plan.updates):
            if plan.push_rate > 0:
                delay = started + i / plan.push_rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            user = FIRST_USER + i % plan.users
            pushed[user].append(time.monotonic())
            fake.push_message(rng.choice(plan.questions), user_id=user)
            if i % 100 == 99:
                await asyncio.sleep(0)  # let the server breathe during a long burst
        # Generous: ten times either mode's expected pace, plus half a minute.
        deadline = time.monotonic() + 30 + plan.updates * (0.7 if plan.flood_limits else 0.02)
        while len(latencies) < plan.updates and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            replies = fake.calls("sendMessage")
            for call in replies[seen:]:
                if call.status is None:
                    break  # still being answered; look again next time
                seen += 1
                if not call.ok:
                    continue
                queue = pushed.get(int(call.params["chat_id"]))
                if queue:  # replies to one user are matched to that user's pushes in order
                    latencies.append(call.time - queue.popleft())
                    last = max(last, call.time)
        await asyncio.sleep(SETTLE_SECONDS)
        rejected = sum(1 for c in fake.errors if not c.injected and c.status != 429)
        cpu = time.process_time() - cpu
        seconds = max(last - started, 1e-9)
        typing = len(fake.calls("sendChatAction"))
        conn.send(Measured(latencies, seconds, rejected, len(fake.flood_429s), cpu, typing))
        await asyncio.to_thread(conn.recv)  # the bot has stopped: the server may go


def fake_process(conn: Any) -> None:
    """Entry point of the fake's process (spawned, so it shares nothing with the bot's)."""
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(_serve_plan(conn))
    finally:
        conn.close()


async def run_load(
    cfg: Config,
    engine: Any,
    *,
    updates: int,
    users: int,
    rate_limiter: bool,
    push_rate: float = 0.0,
    log_db: Path,
    seed: int = 1,
) -> Result:
    """Push `updates` private questions from `users` users through the bot; measure replies.

    The fake runs in a process of its own so that Telegram's stand-in does not take the bot's
    CPU: on two cores, one serves the bot, the other the fake (which validates every request).
    """
    from bot.telegram.app import build_application, post_init, post_shutdown, post_stop

    fake_bot_api()  # fail here, in one line, rather than in the child
    errors: list[BaseException] = []

    async def collect(update: object, context: Any) -> None:
        errors.append(context.error or RuntimeError("no error"))

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=fake_process, args=(theirs,), name="fake-bot-api")
    child.start()
    try:
        ours.send(rate_limiter)
        token, base_url = await asyncio.to_thread(ours.recv)
        run_cfg = dataclasses.replace(
            cfg, token=token, base_url=base_url, log_db=log_db, admins=()
        )
        app = build_application(run_cfg, engine, rate_limiter=rate_limiter)
        app.add_error_handler(collect)
        async with app:
            await post_init(app)
            await app.updater.start_polling(timeout=1, poll_interval=0)
            await app.start()
            try:
                cpu = time.process_time()
                ours.send(Plan(updates, users, questions(engine), rate_limiter, push_rate, seed))
                measured: Measured = await asyncio.to_thread(ours.recv)
                cpu = time.process_time() - cpu
            finally:
                await app.updater.stop()
                await app.stop()
                await post_stop(app)
                await post_shutdown(app)  # closes the question log: every queued row committed
        ours.send("stop")
    finally:
        child.join(10)
        if child.is_alive():
            child.terminate()
        ours.close()
    ms = [x * 1000 for x in measured.latencies] or [0.0]
    return Result(
        updates=updates,
        users=users,
        rate_limiter=rate_limiter,
        push_rate=push_rate,
        answered=len(measured.latencies),
        seconds=round(measured.seconds, 2),
        throughput=round(len(measured.latencies) / measured.seconds, 1),
        p50_ms=round(statistics.median(ms), 1),
        p99_ms=round(percentile(ms, 99), 1),
        max_ms=round(max(ms), 1),
        peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        bot_cpu_ms=round(cpu / updates * 1000, 2),
        fake_cpu_ms=round(measured.cpu_seconds / updates * 1000, 2),
        typing=measured.typing,
        errors=len(errors),
        rejected=measured.rejected,
        flood_429=measured.flood_429,
        log_rows=_count_rows(log_db),
    )


def format_result(r: Result) -> str:
    mode = "rate limiter on, Telegram's flood limits enforced" if r.rate_limiter else (
        "rate limiter off"
    )
    pace = f"pushed at {r.push_rate:g}/s" if r.push_rate else "pushed all at once"
    return "\n".join(
        [
            f"loadtest: {r.updates} updates from {r.users} users, {mode}, {pace}",
            f"  answered     {r.answered} of {r.updates} in {r.seconds} s",
            f"  throughput   {r.throughput} updates/s",
            f"  latency      p50 {r.p50_ms} ms  p99 {r.p99_ms} ms  max {r.max_ms} ms"
            "  (push to reply received)",
            f"  peak memory  {r.peak_mb} MB (ru_maxrss of the bot's process)",
            f"  CPU/update   bot {r.bot_cpu_ms} ms, fake Bot API {r.fake_cpu_ms} ms",
            f"  typing       {r.typing} \"typing\" actions ({r.updates - r.typing} shed while "
            "busy)",
            f"  errors       {r.errors} in handlers, {r.rejected} requests rejected, "
            f"{r.flood_429} flood 429s",
            f"  log rows     {r.log_rows} of {r.updates} ({r.lost_rows} lost)",
            "  result       " + ("OK" if r.ok else "FAILED"),
        ]
    )


def main(args: argparse.Namespace, cfg: Config) -> int:
    """The `loadtest` command: exit 0 when every update was answered and logged, cleanly."""
    from bot.loader import load_engine
    from bot.search import warm_up

    try:
        fake_bot_api()
    except Unavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    updates = args.updates or (
        DEFAULT_UPDATES_RATE_LIMITED if args.rate_limiter else DEFAULT_UPDATES
    )
    if updates < 1 or args.users < 1 or args.rate < 0:
        print("error: --updates and --users must be at least 1, --rate not negative",
              file=sys.stderr)
        return 2
    for name in ("httpx", "httpcore"):  # one line per request would be the bottleneck
        logging.getLogger(name).setLevel(logging.WARNING)
    loaded = load_engine(cfg)
    warm_up()
    with tempfile.TemporaryDirectory(prefix="docbot-loadtest-") as tmp:
        result = asyncio.run(
            run_load(
                cfg,
                loaded.engine,
                updates=updates,
                users=args.users,
                rate_limiter=args.rate_limiter,
                push_rate=args.rate,
                log_db=Path(tmp) / "questions.sqlite3",
            )
        )
    with contextlib.suppress(BrokenPipeError):
        print(json.dumps(result.to_json()) if args.json else format_result(result))
    return 0 if result.ok else 1
