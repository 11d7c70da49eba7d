"""Running the bot as an operator does: `python -m bot run` in a child process against the fake
Bot API (SIGTERM under load, DEBUG logs), start-up failures, the index loader, the load test.

The child process is the real thing: run_polling owns its event loop and its signal handlers,
so it cannot run inside the test's loop.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["PTB_TIMEDELTA"] = "1"  # before PTB is used: avoids a deprecation warning
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator

import pytest

from bot import index
from bot.__main__ import main
from bot.config import Config
from bot.loader import IndexUnusable, load_engine
from bot.questionlog import QuestionLog
from bot.telegram.app import LogUnavailable, build_application, post_init, post_shutdown
from tests.conftest import SEEDS
from tests.fakes.bot_api import DEFAULT_TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Where is Bashar al-Assad?"
SALT = "operations-test-salt"
SECRET = "webhook-Secret_0123456789"
TOKEN_HALF = DEFAULT_TOKEN.partition(":")[2]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    return Path(shutil.copytree(SEEDS, tmp_path_factory.mktemp("ops-seeds") / "seeds"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rows(path: Path) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM questions ORDER BY id")]
    finally:
        conn.close()


def write_config(tmp_path: Path, seeds: Path, fake: FakeBotApi, extra: str = "") -> Path:
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[index]\nseeds = "{seeds}"\ndb = "{tmp_path / "index.sqlite3"}"\n'
        f'[telegram]\nbase_url = "{fake.base_url}"\n'
        f'[log]\npath = "{tmp_path / "questions.sqlite3"}"\nsalt = "{SALT}"\n{extra}',
        encoding="utf-8",
    )
    return config


@contextlib.asynccontextmanager
async def bot_process(config: Path, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run --config CONFIG` with stdout and stderr piped; killed if left running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_TOKEN"] = DEFAULT_TOKEN
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> str:
    """Send `sig`, wait for the exit, return everything the process printed."""
    proc.send_signal(sig)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return out.decode() + err.decode()


async def until(condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def hashes(path: Path, user_ids: set[int]) -> set[str | None]:
    """The salted hashes the log keeps for these users (the log was written with SALT)."""
    log = QuestionLog(path, salt=SALT)
    try:
        return {log.hash_user(u) for u in user_ids}
    finally:
        log.close()


# ------------------------------------------------------------------- SIGTERM under load


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
async def test_sigterm_under_load_loses_no_answered_question_and_exits_0(
    seeds: Path, tmp_path: Path
) -> None:
    # 100 questions: with the rate limiter (30 requests/s, two per answer) the bot drains what
    # it already fetched in about 5 s after SIGTERM, answering and logging every one.
    users = list(range(70_000, 70_100))
    db = tmp_path / "index.sqlite3"
    assert not db.exists()  # a missing index is built at start
    async with FakeBotApi() as fake:
        config = write_config(tmp_path, seeds, fake)
        async with bot_process(config) as proc:
            await fake.wait_for("getUpdates", timeout=60)  # up and polling
            for user in users:
                fake.push_message(QUESTION, user_id=user)
            await until(lambda: sum(c.ok for c in fake.calls("sendMessage")) >= 20)
            output = await stop(proc)
        assert proc.returncode == 0, output
        answered = {int(c.params["chat_id"]) for c in fake.calls("sendMessage") if c.ok}
    log_path = tmp_path / "questions.sqlite3"
    logged = [r["user_hash"] for r in rows(log_path)]
    assert 20 <= len(answered) <= len(logged) <= len(users)
    assert hashes(log_path, answered) <= set(logged)  # every answered question has its row
    assert len(set(logged)) == len(logged)  # and only one
    assert f"question log closed: {len(logged)} rows written, 0 lost" in output
    wal = log_path.with_name(log_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # closed: the WAL was checkpointed
    assert index.stored_hash(db) == index.seeds_hash(seeds)
    assert "Traceback" not in output


# ------------------------------------------------------------------ no token in the logs


async def test_debug_logs_never_show_the_token_through_polling_429_and_5xx(
    seeds: Path, tmp_path: Path
) -> None:
    # The run starts on a garbage index file, which is rebuilt rather than fatal.
    (tmp_path / "index.sqlite3").write_bytes(os.urandom(8192))
    async with FakeBotApi() as fake:
        fake.fail_next("getUpdates", 500)
        fake.fail_next("sendMessage", 429, retry_after=1)
        config = write_config(tmp_path, seeds, fake, 'level = "DEBUG"\n')
        async with bot_process(config) as proc:
            fake.push_message(QUESTION)
            await fake.wait_for("sendMessage", timeout=60, predicate=lambda c: c.ok)
            output = await stop(proc)
    assert proc.returncode == 0, output
    assert [c.status for c in fake.calls("sendMessage")] == [429, 200]
    assert any(c.status == 500 for c in fake.calls("getUpdates"))
    assert DEFAULT_TOKEN not in output and TOKEN_HALF not in output
    assert "[token]" in output  # the URLs were logged, scrubbed
    for logger in (" telegram.ext.", " bot."):
        assert logger in output, f"no DEBUG output from{logger}"
    assert index.stored_hash(tmp_path / "index.sqlite3") == index.seeds_hash(seeds)


async def test_debug_logs_never_show_the_token_or_secret_in_webhook_mode(
    seeds: Path, tmp_path: Path
) -> None:
    port = free_port()
    async with FakeBotApi() as fake:
        webhook = (
            f'[webhook]\nport = {port}\npath = "hook"\n'
            f'url = "http://127.0.0.1:{port}/hook"\nsecret_token = "{SECRET}"\n'
        )
        config = write_config(tmp_path, seeds, fake, 'level = "DEBUG"\n' + webhook)
        async with bot_process(config, "--webhook") as proc:
            await fake.wait_for("setWebhook", timeout=60)
            await until(lambda: fake.webhook is not None)
            update = fake.push_message(QUESTION)
            for _ in range(100):  # the server starts listening just after setWebhook
                with contextlib.suppress(OSError):
                    assert await fake.post_update_to_webhook(update) == 200
                    break
                await asyncio.sleep(0.1)
            assert await fake.post_update_to_webhook(update, secret_token="wrong") == 403
            await fake.wait_for("sendMessage", timeout=30, predicate=lambda c: c.ok)
            output = await stop(proc)
    assert proc.returncode == 0, output
    assert fake.webhook is None or fake.webhook["secret_token"] == SECRET
    assert DEFAULT_TOKEN not in output and TOKEN_HALF not in output
    assert SECRET not in output and "[secret]" in output
    assert "webhook server started on" in output
    assert len(rows(tmp_path / "questions.sqlite3")) == 1  # the forged update did nothing


# ---------------------------------------------------------------------- start-up failures


@pytest.mark.parametrize("kind", ["directory", "invalid-utf8"])
def test_an_unreadable_config_exits_2_with_one_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", DEFAULT_TOKEN)
    path = tmp_path / "bot.toml"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b'[log]\nlevel = "\xff\xfe INFO"\n')
    assert main(["run", "--config", str(path)]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bot.toml" in lines[0], out.err
    assert out.out == "" and "Traceback" not in out.err


def test_an_index_that_can_be_neither_read_nor_rebuilt_exits_2_with_one_line(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", DEFAULT_TOKEN)
    db = tmp_path / "index.sqlite3"
    db.mkdir()  # a directory where the index file should be: it cannot be replaced
    (db / "junk").write_bytes(b"\x00garbage")
    config = tmp_path / "bot.toml"
    config.write_text(f'[index]\nseeds = "{seeds}"\ndb = "{db}"\n', encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot build the index {db}"), out.err
    assert DEFAULT_TOKEN not in out.err and "Traceback" not in out.err


async def test_a_question_log_that_cannot_be_opened_stops_the_start(
    seeds: Path, tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("a file where the log's folder should be")
    engine = load_engine(Config(seeds=seeds, db=tmp_path / "index.sqlite3")).engine
    async with FakeBotApi() as fake:
        cfg = Config(token=fake.token, base_url=fake.base_url,
                     log_db=tmp_path / "taken" / "questions.sqlite3")
        app = build_application(cfg, engine)
        async with app:
            with pytest.raises(LogUnavailable, match="cannot open the question log"):
                await post_init(app)
            await post_shutdown(app)  # as run_polling does after a failed post_init
    assert not fake.calls("sendMessage")


# --------------------------------------------------------------------------- the loader


def test_a_missing_index_is_built(seeds: Path, tmp_path: Path) -> None:
    cfg = Config(seeds=seeds, db=tmp_path / "data" / "index.sqlite3")
    loaded = load_engine(cfg)
    assert loaded.built and not loaded.warning
    assert loaded.seeds_hash == index.seeds_hash(seeds)
    assert loaded.engine.ask(QUESTION).answered


def test_an_index_of_garbage_bytes_is_rebuilt(seeds: Path, tmp_path: Path) -> None:
    cfg = Config(seeds=seeds, db=tmp_path / "index.sqlite3")
    cfg.db.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    loaded = load_engine(cfg)
    assert loaded.built and loaded.engine.ask(QUESTION).answered


def test_an_index_with_a_current_hash_but_no_tables_is_rebuilt(
    seeds: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = Config(seeds=seeds, db=tmp_path / "index.sqlite3")
    conn = sqlite3.connect(cfg.db)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('seeds_hash', ?)", [index.seeds_hash(seeds)])
    conn.commit()
    conn.close()
    loaded = load_engine(cfg)
    assert loaded.built and loaded.engine.ask(QUESTION).answered
    assert any("rebuilding it from the seeds" in r.getMessage() for r in caplog.records)


def test_an_index_that_cannot_be_written_is_unusable(seeds: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(IndexUnusable, match="cannot build the index"):
        load_engine(Config(seeds=seeds, db=tmp_path / "file" / "index.sqlite3"))


# ------------------------------------------------------------------------- the load test


def test_loadtest_answers_and_logs_every_update(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["loadtest", "--updates", "200", "--users", "100", "--json",
                 "--seeds", str(seeds), "--db", str(tmp_path / "index.sqlite3")])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["ok"] and result["answered"] == result["log_rows"] == 200
    assert result["errors"] == result["rejected"] == result["flood_429"] == result["lost_rows"] == 0
    assert result["throughput"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]


def test_loadtest_without_the_fake_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import loadtest

    monkeypatch.setattr(loadtest, "FAKES", tmp_path / "no-tests" / "fakes")
    assert main(["loadtest", "--updates", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the load test needs the fake Bot API")


@pytest.mark.parametrize(("rate", "updates"), [(None, 80), (10, 30)])
def test_loadtest_under_flood_limits_provokes_no_429_at_the_configured_rate(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: int | None,
    updates: int,
) -> None:
    args = ["loadtest", "--rate-limiter", "--updates", str(updates), "--users", str(updates),
            "--json", "--seeds", str(seeds), "--db", str(tmp_path / "index.sqlite3")]
    if rate is not None:
        config = tmp_path / "bot.toml"
        config.write_text(f"[telegram]\nrequests_per_second = {rate}\n", encoding="utf-8")
        args += ["--config", str(config)]
    code = main(args)
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["flood_429"] == 0 and result["answered"] == result["log_rows"] == updates
    # Never faster than allowed: the burst of 5, then the configured rate (default 25).
    allowed = rate or Config().requests_per_second
    assert result["seconds"] >= (updates - 5 - 1) / allowed
