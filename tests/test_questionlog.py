"""bot.questionlog: nothing recorded is lost, nothing blocks the caller, no raw user id is kept."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot import config, questionlog
from bot.answer import Answer, Excerpt, FaqHit
from bot.questionlog import QuestionLog, new_answer_key

ROOT = Path(__file__).resolve().parents[1]
UNANSWERED = Answer(query="q", answered=False, confidence=0.12)


def _answered(faq: str | None = None) -> Answer:
    excerpt = Excerpt(text="HTS took Homs.", document="article", paragraph=3, sentence=2, score=0.9)
    hit = FaqHit(id=faq, question="Who took Homs?", answer="HTS.") if faq else None
    return Answer(query="who took homs", answered=True, confidence=0.87, faq=hit,
                  excerpts=(excerpt,))


def _record(log: QuestionLog, i: int = 0, **changes: object) -> None:
    kwargs: dict = dict(question=f"question number {i}", answer=UNANSWERED, chat_type="private",
                        user_id=1000 + i, answer_key=None)
    log.record(**(kwargs | changes))


def _rows(path: Path, table: str = "questions") -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "log" / "questions.sqlite3"


async def test_a_thousand_concurrent_tasks_record_exactly_a_thousand_rows(path: Path) -> None:
    log = QuestionLog(path)

    async def ask(i: int) -> None:
        await asyncio.sleep(0)
        _record(log, i)

    await asyncio.gather(*(ask(i) for i in range(1000)))
    await log.aclose()
    assert len(_rows(path)) == 1000
    assert (log.written, log.pending, log.dropped) == (1000, 0, 0)


def test_records_from_several_threads_are_all_written(path: Path) -> None:
    log = QuestionLog(path)
    start = threading.Barrier(8)

    def work(t: int) -> None:
        start.wait()
        for i in range(125):
            _record(log, t * 1000 + i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    rows = _rows(path)
    assert len(rows) == 1000
    assert len({r["question"] for r in rows}) == 1000


def test_record_returns_at_once_even_while_the_database_is_locked(path: Path) -> None:
    log = QuestionLog(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.perf_counter()
        for i in range(10_000):
            _record(log, i)
        elapsed = time.perf_counter() - started
        assert log.pending > 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    log.close()
    assert elapsed < 2.0
    assert len(_rows(path)) == 10_000


def test_a_locked_database_is_retried_with_one_warning_and_loses_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(questionlog, "BUSY_SECONDS", 0.02)
    log = QuestionLog(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.WARNING, logger="bot.questionlog"):
        for i in range(100):
            _record(log, i)
        time.sleep(0.6)  # several failed attempts
        assert log.written == 0
        blocker.execute("ROLLBACK")
        blocker.close()
        assert log.flush(timeout=10)
    log.close()
    assert len(_rows(path)) == 100
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "retrying" in warnings[0].getMessage()


def test_close_with_a_timeout_gives_up_on_a_database_locked_for_good(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(questionlog, "BUSY_SECONDS", 0.02)
    log = QuestionLog(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(10):
            _record(log, i)
        started = time.perf_counter()
        log.close(timeout=0.3)
        assert time.perf_counter() - started < 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert log.dropped == 10
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["question log: closed with 10 rows not written"]


def test_flush_makes_recorded_rows_visible_to_other_readers(path: Path) -> None:
    with QuestionLog(path) as log:
        for i in range(3):
            _record(log, i)
        assert log.flush(timeout=5)
        assert len(_rows(path)) == 3
        assert log.pending == 0


def test_a_row_keeps_what_the_report_needs(path: Path) -> None:
    key = new_answer_key()
    with QuestionLog(path) as log:
        log.record(question="Who took Homs?", answer=_answered("homs"), chat_type="group",
                   user_id=77, answer_key=key)
    [row] = _rows(path)
    assert row["question"] == "Who took Homs?"
    assert (row["chat_type"], row["answered"], row["confidence"]) == ("group", 1, 0.87)
    assert (row["faq_id"], row["answer_key"]) == ("homs", key)
    assert json.loads(row["sentences"]) == [{"document": "article", "paragraph": 3, "sentence": 2}]
    assert re.fullmatch(r"[0-9a-f]{16}", row["user_hash"])
    stamp = datetime.fromisoformat(row["ts"])
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_answer_keys_fit_callback_data_and_never_contain_a_colon() -> None:
    keys = {new_answer_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(len(k) == 8 and ":" not in k for k in keys)


def test_raw_user_ids_never_reach_the_database_file(path: Path) -> None:
    ids = [987654321012, 5550001234, 4242424242]
    with QuestionLog(path) as log:
        for uid in ids:
            _record(log, 0, user_id=uid, question="who took homs", answer_key="k1")
            log.record_feedback(answer_key="k1", user_id=uid, vote=-1)
    data = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"who took homs" in data  # the check reads the right bytes
    for uid in ids:
        assert str(uid).encode() not in data
        assert uid.to_bytes(8, "big") not in data
    hashes = {r["user_hash"] for r in _rows(path)}
    assert len(hashes) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", h) for h in hashes)


def test_store_text_false_keeps_the_row_but_not_the_question(path: Path) -> None:
    with QuestionLog(path, store_text=False) as log:
        _record(log, 1, question="a private matter")
    [row] = _rows(path)
    assert row["question"] is None
    assert row["answered"] == 0 and row["user_hash"]


def test_a_later_vote_of_the_same_user_replaces_the_earlier(path: Path) -> None:
    with QuestionLog(path) as log:
        log.record_feedback(answer_key="k1", user_id=1, vote=1)
        log.record_feedback(answer_key="k1", user_id=1, vote=-1)  # same batch
        log.record_feedback(answer_key="k1", user_id=2, vote=1)
        log.record_feedback(answer_key="k2", user_id=1, vote=1)
        assert log.flush(timeout=5)
        log.record_feedback(answer_key="k2", user_id=1, vote=-1)  # a later batch
    votes = {(r["answer_key"], r["user_hash"]): r["vote"] for r in _rows(path, "feedback")}
    assert len(votes) == 3
    assert sorted(votes.values()) == [-1, -1, 1]


@pytest.mark.parametrize("vote", [0, 2, True, "up"])
def test_a_vote_is_plus_or_minus_one(path: Path, vote: object) -> None:
    with QuestionLog(path) as log, pytest.raises(ValueError):
        log.record_feedback(answer_key="k", user_id=1, vote=vote)  # type: ignore[arg-type]


def test_the_salt_persists_across_reopening_so_hashes_stay_stable(tmp_path: Path) -> None:
    first, other = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    with QuestionLog(first) as log:
        before = log.hash_user(42)
    with QuestionLog(first) as log:
        assert log.hash_user(42) == before
        _record(log, user_id=42)
    assert _rows(first)[0]["user_hash"] == before
    with QuestionLog(other) as log:
        assert log.hash_user(42) != before  # each log draws its own random salt


def test_a_configured_salt_is_used_and_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    with QuestionLog(path, salt="pepper-from-env") as log:
        configured = log.hash_user(42)
    with QuestionLog(path, salt="pepper-from-env") as log:
        assert log.hash_user(42) == configured
    with QuestionLog(path) as log:
        assert log.hash_user(42) != configured
    assert b"pepper-from-env" not in path.read_bytes()


def test_the_log_salt_comes_from_the_environment_before_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[log]\nsalt = "from-file"\n', encoding="utf-8")
    monkeypatch.delenv("BOT_LOG_SALT", raising=False)
    assert config.load().log_salt == ""  # the log keeps a random salt of its own
    assert config.load(cfg).log_salt == "from-file"
    monkeypatch.setenv("BOT_LOG_SALT", "from-env")
    assert config.load(cfg).log_salt == "from-env"
    assert "from-env" not in repr(config.load(cfg))


def test_the_log_is_in_wal_mode(path: Path) -> None:
    QuestionLog(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_close_is_idempotent_and_recording_afterwards_fails_loudly(path: Path) -> None:
    log = QuestionLog(path)
    _record(log)
    log.close()
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        _record(log)
    with pytest.raises(RuntimeError, match="closed"):
        log.record_feedback(answer_key="k", user_id=1, vote=1)
    assert log.flush(timeout=1)
    assert len(_rows(path)) == 1


CHILD = """
import os, signal, sys, time
from pathlib import Path
from bot.answer import Answer
from bot.questionlog import QuestionLog

log = QuestionLog(Path(sys.argv[1]))
answer = Answer(query="q", answered=False, confidence=0.0)
count = 0

def stop(signum, frame):
    log.close()
    print(count, flush=True)
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
while True:
    log.record(question=f"q{count}", answer=answer, chat_type="cli", user_id=count,
               answer_key=None)
    count += 1
    if count == 2000:
        print("ready", flush=True)
    if count % 100 == 0:
        time.sleep(0.001)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM handlers are POSIX")
def test_sigterm_while_recording_loses_nothing_recorded_before_it(path: Path) -> None:
    path.parent.mkdir(parents=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    recorded = int(out.split()[-1])
    rows = len(_rows(path))
    assert recorded >= 2000
    # A call interrupted between `record` returning and the count going up may add one row.
    assert recorded <= rows <= recorded + 1


# -- forgetting one person ----------------------------------------------------------------------


def _votes(path: Path) -> list[tuple[str, str, int]]:
    return [(r["answer_key"], r["user_hash"], r["vote"]) for r in _rows(path, "feedback")]


def test_forget_removes_that_persons_questions_and_votes_and_nothing_else(path: Path) -> None:
    alice, bob = 101, 202
    with QuestionLog(path) as log:
        for i in range(3):
            _record(log, i, user_id=alice, answer=_answered(), answer_key=f"a{i}")
        _record(log, 7, user_id=bob, answer=_answered(), answer_key="b1")
        _record(log, 8, user_id=bob, answer_key=None)
        log.record_feedback(answer_key="a0", user_id=alice, vote=-1)  # on her own answer
        log.record_feedback(answer_key="b1", user_id=alice, vote=1)  # on someone else's
        log.record_feedback(answer_key="b1", user_id=bob, vote=-1)
        log.record_feedback(answer_key="a1", user_id=bob, vote=-1)  # on an answer that goes
        gone = log.forget(alice)
        bob_hash = log.hash_user(bob)
    assert gone == questionlog.Forgotten(questions=3, votes=2, votes_on_their_answers=1)
    assert gone.rows == 6
    rows = _rows(path)
    assert [r["question"] for r in rows] == ["question number 7", "question number 8"]
    assert {r["user_hash"] for r in rows} == {bob_hash}
    assert _votes(path) == [("b1", bob_hash, -1)]


def test_forget_also_removes_rows_still_queued_when_it_was_asked(path: Path) -> None:
    log = QuestionLog(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # nothing can be committed: every row waits in the queue
    try:
        for i in range(50):
            _record(log, i, user_id=5, answer_key=f"k{i}")
        log.record_feedback(answer_key="k1", user_id=5, vote=1)
        _record(log, 99, user_id=6)
        assert log.written == 0
        result: list[questionlog.Forgotten] = []
        worker = threading.Thread(target=lambda: result.append(log.forget(5)))
        worker.start()
        time.sleep(0.2)
        assert worker.is_alive()  # it waits for the rows queued before it
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    worker.join(10)
    log.close()
    assert result == [questionlog.Forgotten(questions=50, votes=1)]
    assert [r["question"] for r in _rows(path)] == ["question number 99"]


def test_forget_works_when_the_text_is_not_stored(path: Path) -> None:
    with QuestionLog(path, store_text=False) as log:
        _record(log, 1, user_id=9, answer_key="k")
        log.record_feedback(answer_key="k", user_id=9, vote=-1)
        _record(log, 2, user_id=10)
        assert log.forget(9) == questionlog.Forgotten(questions=1, votes=1)
        assert log.forget(9) == questionlog.Forgotten()  # nothing left: harmless again
    assert [r["user_hash"] for r in _rows(path)] == [QuestionLog(path).hash_user(10)]


def test_forget_needs_a_user_id_and_an_open_log(path: Path) -> None:
    log = QuestionLog(path)
    with pytest.raises(TypeError):
        log.forget(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        log.forget("42")  # type: ignore[arg-type]
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        log.forget(42)


def test_forget_times_out_while_the_database_stays_locked_and_happens_later(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(questionlog, "BUSY_SECONDS", 0.02)
    log = QuestionLog(path)
    _record(log, 1, user_id=3)
    assert log.flush(timeout=5)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    _record(log, 2, user_id=3)
    try:
        with pytest.raises(TimeoutError):
            log.forget(3, timeout=0.3)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    log.close()
    assert _rows(path) == []


# -- retention ----------------------------------------------------------------------------------


def _insert_old(path: Path, days_ago: float, count: int, key_prefix: str = "old") -> None:
    """Rows written straight into the file, dated `days_ago`, each with a vote."""
    at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds")
    conn = sqlite3.connect(path)
    with conn:
        for i in range(count):
            conn.execute(
                "INSERT INTO questions (ts, chat_type, user_hash, question, answered, answer_key)"
                " VALUES (?, 'private', 'h', ?, 0, ?)",
                [at, f"{key_prefix} question {i}", f"{key_prefix}{i}"],
            )
            conn.execute(
                "INSERT INTO feedback (ts, answer_key, user_hash, vote) VALUES (?, ?, 'h', -1)",
                [at, f"{key_prefix}{i}"],
            )
    conn.close()


def test_opening_with_keep_days_deletes_older_rows_and_keeps_the_recent(path: Path) -> None:
    QuestionLog(path).close()
    _insert_old(path, 40, 5, "old")
    _insert_old(path, 10, 3, "recent")
    with QuestionLog(path) as log:  # no retention: everything stays
        assert log.flush(timeout=5)
        _record(log, 1, answer_key="new")
        log.record_feedback(answer_key="new", user_id=1, vote=1)
    assert len(_rows(path)) == 9
    with QuestionLog(path, keep_days=30) as log:
        assert log.flush(timeout=5)
        assert log.purged == 10  # 5 questions and their 5 votes
        questions = [r["question"] for r in _rows(path)]
    assert questions == [*(f"recent question {i}" for i in range(3)), "question number 1"]
    assert sorted(k for k, _, _ in _votes(path)) == ["new", "recent0", "recent1", "recent2"]


def test_a_vote_on_a_question_that_ages_out_goes_with_it(path: Path) -> None:
    with QuestionLog(path) as log:
        _record(log, 1, answer_key="k", at=datetime.now(UTC) - timedelta(days=8))
        log.record_feedback(answer_key="k", user_id=2, vote=-1)  # today
    with QuestionLog(path, keep_days=7) as log:
        assert log.flush(timeout=5)
    assert _rows(path) == [] and _rows(path, "feedback") == []


def test_retention_runs_again_while_the_log_is_open(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(questionlog, "PURGE_EVERY", 0.2)
    monkeypatch.setattr(questionlog, "PURGE_CHUNK", 3)  # several transactions
    with QuestionLog(path, keep_days=1) as log:
        assert log.flush(timeout=5)
        _insert_old(path, 2, 10)
        _record(log, 1)
        deadline = time.monotonic() + 10
        while log.purged < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.purged == 20
        assert log.purge() == 0
    assert [r["question"] for r in _rows(path)] == ["question number 1"]
    assert _rows(path, "feedback") == []


def test_keep_days_is_kept_in_the_file_for_the_report(path: Path) -> None:
    def stored() -> int | None:
        conn = sqlite3.connect(path)
        try:
            return questionlog.stored_keep_days(Database(conn))
        finally:
            conn.close()

    QuestionLog(path, keep_days=90).close()
    assert stored() == 90
    QuestionLog(path).close()
    assert stored() is None


@pytest.mark.parametrize("days", [-1, True, questionlog.MAX_KEEP_DAYS + 1])
def test_keep_days_must_be_a_number_of_days(path: Path, days: object) -> None:
    with pytest.raises(ValueError, match="keep_days"):
        QuestionLog(path, keep_days=days)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", "log.keep_days must be 0"), ('"30"', "wrong type"), ("true", "wrong type"),
     ("1.5", "wrong type"), ("100000", "log.keep_days must be 0")],
)
def test_the_config_rejects_a_bad_keep_days(tmp_path: Path, value: str, message: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"[log]\nkeep_days = {value}\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=message):
        config.load(cfg)


def test_the_config_reads_keep_days(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[log]\nkeep_days = 90\n", encoding="utf-8")
    assert config.load(cfg).log_keep_days == 90
    assert config.load().log_keep_days == 0  # the default keeps everything


# -- links from questions to FAQ entries --------------------------------------------------------


def test_a_link_keeps_keys_entry_and_hash_but_no_text(path: Path) -> None:
    with QuestionLog(path, store_text=False) as log:
        _record(log, 1, user_id=7, answer_key="q1")
        log.record_link(answer_key="q1", faq_id="homs", user_id=7, shown_key="s1")
        user = log.hash_user(7)
        with pytest.raises(ValueError, match="kind"):
            log.record_link(answer_key="q1", faq_id="homs", user_id=7, kind="guess")
        with pytest.raises(ValueError, match="answer key"):
            log.record_link(answer_key="", faq_id="homs", user_id=7)
    [link] = _rows(path, "links")
    assert {k: v for k, v in link.items() if k != "ts"} == {
        "id": 1, "answer_key": "q1", "faq_id": "homs", "user_hash": user, "kind": "button",
        "shown_key": "s1",
    }
    assert all(v not in (7, "7") for v in link.values())  # the id itself is never kept
    assert [r["question"] for r in _rows(path)] == [None]


def test_forget_removes_that_persons_links_and_those_under_their_questions(path: Path) -> None:
    alice, bob = 101, 202
    with QuestionLog(path) as log:
        _record(log, 1, user_id=alice, answer_key="a1")
        _record(log, 2, user_id=bob, answer_key="b1")
        log.record_link(answer_key="a1", faq_id="homs", user_id=alice)  # her tap, her question
        log.record_link(answer_key="b1", faq_id="homs", user_id=alice)  # her tap, his question
        log.record_link(answer_key="a1", faq_id="aleppo", user_id=bob)  # his tap, her question
        log.record_link(answer_key="b1", faq_id="aleppo", user_id=bob)  # his, his: stays
        gone = log.forget(alice)
        bob_hash = log.hash_user(bob)
    assert gone == questionlog.Forgotten(questions=1, links=3)
    assert gone.rows == 4
    assert [(r["answer_key"], r["faq_id"], r["user_hash"]) for r in _rows(path, "links")] == [
        ("b1", "aleppo", bob_hash)
    ]


def test_retention_removes_old_links_and_the_links_of_old_questions(path: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=10)
    with QuestionLog(path) as log:
        _record(log, 1, answer_key="old_q", at=old)
        log.record_link(answer_key="old_q", faq_id="homs", user_id=1)  # today, on an old question
        _record(log, 2, answer_key="new_q")
        log.record_link(answer_key="new_q", faq_id="homs", user_id=2, at=old)  # old itself
        log.record_link(answer_key="new_q", faq_id="aleppo", user_id=2)  # stays
    with QuestionLog(path, keep_days=7) as log:
        assert log.flush(timeout=5)
        assert log.purged == 3  # one question, two links
    assert [(r["answer_key"], r["faq_id"]) for r in _rows(path, "links")] == [("new_q", "aleppo")]
    assert [r["answer_key"] for r in _rows(path)] == ["new_q"]
