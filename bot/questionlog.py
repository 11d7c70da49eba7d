"""The question log: what people asked, how it went, and their votes, for the editor's report.

Its own SQLite file (WAL), never the index: the index is rebuilt from the seeds at will, the log is
history. Callers are asyncio handlers, so `record` and `record_feedback` only put a row on a queue;
one writer thread turns the queue into batched transactions. User ids are kept only as a salted
hash, so the log can count people and keep one vote per person without knowing who they are,
and still find one person's rows when they ask to be forgotten (`forget`).

Deletions (`forget`, and the retention of `keep_days`) go through the same writer, after every
row queued before them: a question recorded a moment before /forget is deleted too.

Links (the `links` table) tie a question to a FAQ entry the person chose for it: a tap on a
suggested FAQ button under a refused answer (kind "button"), with the key of the question's
answer and of the FAQ answer the tap sent (`shown_key`). They hold no text: the question is found
by joining `questions` on `answer_key`, so with `store_questions = false` a link is only a count.
Votes need no link rows: a 👍 or 👎 on an answer a FAQ entry led is read from `feedback` joined
with `questions.faq_id` (bot.faqsuggest, bot.report), and a 👎 on the answer a tap sent, through
`shown_key`, marks that tap's link as negative.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import hmac
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from bot.answer import Answer

log = logging.getLogger(__name__)

CHAT_TYPES = ("private", "group", "supergroup", "inline", "cli")
BATCH_ROWS = 500  # rows per transaction at most
BATCH_SECONDS = 0.05  # how long the writer waits to fill a batch
BUSY_SECONDS = 5.0  # how long one write waits for a lock before it counts as failed
RETRY_FIRST, RETRY_MAX = 0.05, 2.0  # backoff between failed writes, doubling
HASH_CHARS = 16
PURGE_EVERY = 24 * 3600.0  # with keep_days: seconds between two purges of old rows
PURGE_RETRY = 60.0  # a purge that failed (locked database) is tried again this much later
PURGE_CHUNK = 10_000  # rows deleted per transaction, so a big purge never holds the lock long
MAX_KEEP_DAYS = 36_500  # a hundred years; more would overflow the date arithmetic

_QUESTIONS = {
    "id": int,
    "ts": str,
    "chat_type": str,
    "user_hash": str,
    "question": str,
    "answered": int,
    "confidence": float,
    "faq_id": str,
    "sentences": str,
    "answer_key": str,
}
_FEEDBACK = {"id": int, "ts": str, "answer_key": str, "user_hash": str, "vote": int}
_LINKS = {
    "id": int,
    "ts": str,
    "answer_key": str,  # the question's answer (questions.answer_key)
    "faq_id": str,
    "user_hash": str,
    "kind": str,
    "shown_key": str,  # the answer the link sent (its votes say whether the entry helped)
}
LINK_KINDS = ("button",)


def new_answer_key() -> str:
    """A short random key (8 URL-safe characters, no ':') for a button's callback data."""
    return secrets.token_urlsafe(6)


def ensure_schema(db: Database) -> None:
    """Create the tables and indexes if missing; harmless on an existing log (an older log gets
    the newer indexes the first time the bot opens it)."""
    db["questions"].create(_QUESTIONS, pk="id", not_null={"ts", "chat_type"}, if_not_exists=True)
    questions = db["questions"]
    # Each index serves a query of bot.report (checked with EXPLAIN QUERY PLAN on a log of a
    # million rows, `python -m bot bench-report`): (ts, answered) covers the totals and the
    # period, (answered, ts) the unanswered questions (/stats: 0.5 s -> 16 ms), (faq_id, ts) the
    # FAQ counts (partial: most answers lead with no FAQ entry), (answered, confidence) the
    # low-confidence answers; (ts, answered) also serves retention.
    questions.create_index(["ts", "answered"], if_not_exists=True)
    questions.create_index(["answered", "ts"], if_not_exists=True)
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_questions_faq_id_ts ON questions (faq_id, ts)"
        " WHERE faq_id IS NOT NULL"
    )
    questions.create_index(["answered", "confidence"], if_not_exists=True)
    questions.create_index(["answer_key"], if_not_exists=True)
    questions.create_index(["user_hash"], if_not_exists=True)  # forget
    db["feedback"].create(_FEEDBACK, pk="id", not_null={"ts", "answer_key"}, if_not_exists=True)
    # The unique pair is what makes a later vote replace the earlier one (INSERT OR REPLACE).
    db["feedback"].create_index(["answer_key", "user_hash"], unique=True, if_not_exists=True)
    db["feedback"].create_index(["user_hash"], if_not_exists=True)  # forget
    db["feedback"].create_index(["ts"], if_not_exists=True)  # retention
    db["links"].create(_LINKS, pk="id", not_null={"ts", "answer_key", "faq_id", "kind"},
                       if_not_exists=True)
    db["links"].create_index(["answer_key"], if_not_exists=True)  # the join to questions
    db["links"].create_index(["faq_id"], if_not_exists=True)  # per entry, for the report
    db["links"].create_index(["user_hash"], if_not_exists=True)  # forget
    db["links"].create_index(["ts"], if_not_exists=True)  # retention
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    # The (ts) index of older logs is a prefix of (ts, answered): one index fewer to update.
    db.execute("DROP INDEX IF EXISTS idx_questions_ts")


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What `forget` removed: the person's questions and votes, the votes other people
    cast on those answers (they would point at nothing, and count as an unknown answer), and the
    links to FAQ entries the person made or that pointed at their questions."""

    questions: int = 0
    votes: int = 0
    votes_on_their_answers: int = 0
    links: int = 0

    @property
    def rows(self) -> int:
        return self.questions + self.votes + self.votes_on_their_answers + self.links


@dataclass(slots=True)
class _Task:
    """Work for the writer once every row queued before it is committed (none for a flush);
    then `done` is set, with the work's `result` or `error`."""

    work: Callable[[Database], Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


_STOP = object()


class QuestionLog:
    """Log of questions and votes, written by a background thread.

    Nothing queued is lost: `flush` and `close` wait until the rows are committed, and a failing
    write (locked or full disk) is retried with backoff instead of dropping the batch. Rows are
    deleted only on request (`forget`) and by retention (`keep_days`), by the same thread.
    """

    def __init__(
        self,
        path: Path,
        store_text: bool = True,
        salt: str | None = None,
        keep_days: int = 0,
    ) -> None:
        """Open (or create) the log. `keep_days` > 0 deletes rows older than that many days,
        at once (in the writer thread, before any row is written) and then once a day."""
        if isinstance(keep_days, bool) or not 0 <= keep_days <= MAX_KEEP_DAYS:
            raise ValueError(f"keep_days must be 0 (keep everything) to {MAX_KEEP_DAYS}")
        self.path = Path(path)
        self.store_text = store_text
        self.keep_days = keep_days
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(self.path, timeout=BUSY_SECONDS))
        try:
            db.execute("PRAGMA journal_mode=wal")
            with db.atomic():
                ensure_schema(db)
                # A configured salt stays out of the file, so a leaked log cannot be brute-forced
                # back to user ids; without one, a random salt is made once and kept here.
                self._salt = salt or _stored_salt(db)
                # Kept in the file so the report can say how far back the log reaches, whichever
                # config (or none) it is run with.
                _store_keep_days(db, keep_days)
        finally:
            db.close()
        self._key = self._salt.encode("utf-8")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.RLock()  # re-entrant: close may run in a signal handler
        self._give_up = threading.Event()  # set by a close whose timeout ran out
        self._abandoned = False
        self._batch_size = 0
        self.written = 0
        self.dropped = 0
        self.purged = 0  # rows deleted by retention since the log was opened
        self._thread = threading.Thread(target=self._run, name="question-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- the caller's side: never blocks --------------------------------------------------------

    @property
    def pending(self) -> int:
        """Rows recorded but not yet committed (approximate while rows are on the move)."""
        return self._queue.qsize() + self._batch_size

    def hash_user(self, user_id: int | None) -> str | None:
        """Salted SHA-256 (HMAC) of a user id, 16 hex characters; None stays None."""
        if user_id is None:
            return None
        digest = hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()
        return digest[:HASH_CHARS]

    def record(
        self,
        *,
        question: str,
        answer: Answer,
        chat_type: str,
        user_id: int | None,
        answer_key: str | None,
        at: datetime | None = None,
    ) -> None:
        """Queue one asked question and how it was answered; returns at once.

        `at` (default now; a naive time is local) is for back-filling and tests.
        """
        self._check_open()
        row = ("q", at or datetime.now(UTC), question, answer, chat_type, user_id, answer_key)
        self._queue.put(row)

    def record_feedback(
        self, *, answer_key: str, user_id: int | None, vote: int, at: datetime | None = None
    ) -> None:
        """Queue a 👍 (+1) or 👎 (-1) on an answer; the same user's later vote replaces it."""
        if vote not in (1, -1) or isinstance(vote, bool):
            raise ValueError(f"vote must be +1 or -1, not {vote!r}")
        self._check_open()
        self._queue.put(("f", at or datetime.now(UTC), answer_key, user_id, vote))

    def record_link(
        self,
        *,
        answer_key: str,
        faq_id: str,
        user_id: int | None,
        kind: str = "button",
        shown_key: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Queue a link from the question answered under `answer_key` to FAQ entry `faq_id`
        (the person tapped that entry's suggestion button); `shown_key` is the key of the answer
        the tap sent. Returns at once."""
        if kind not in LINK_KINDS:
            raise ValueError(f"link kind must be one of {LINK_KINDS}, not {kind!r}")
        if not answer_key or not faq_id:
            raise ValueError("a link needs an answer key and a FAQ id")
        self._check_open()
        self._queue.put(("l", at or datetime.now(UTC), answer_key, faq_id, user_id, kind,
                         shown_key))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the question log is closed")

    # -- deleting -------------------------------------------------------------------------------

    def forget(self, user_id: int, timeout: float | None = None) -> Forgotten:
        """Delete every question and vote of this person (found by the hash of their id), after
        the rows still queued, so one recorded a moment ago goes too. Blocks until done:
        TimeoutError when `timeout` runs out first (the deletion still happens, later)."""
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise TypeError(f"forget needs a numeric user id, not {user_id!r}")
        user = self.hash_user(user_id)
        return self._call(lambda db: _forget(db, user), timeout)

    async def aforget(self, user_id: int, timeout: float | None = None) -> Forgotten:
        """`forget` without blocking the event loop."""
        return await asyncio.to_thread(self.forget, user_id, timeout)

    def purge(self, timeout: float | None = None) -> int:
        """Delete the rows older than `keep_days` now (the writer does it once a day anyway);
        returns how many. Nothing without retention."""
        return self._call(self._purge, timeout)

    def _call(self, work: Callable[[Database], Any], timeout: float | None) -> Any:
        self._check_open()
        task = _Task(work)
        self._queue.put(task)
        if not self._wait(task, timeout):
            if self._thread.is_alive():
                raise TimeoutError("the question log did not get to it in time")
            raise RuntimeError("the question log stopped before it got to it")
        if task.error is not None:
            raise task.error
        return task.result

    def _wait(self, task: _Task, timeout: float | None) -> bool:
        """Whether the writer did `task` (False: timed out, or the writer ended first)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not task.done.wait(0.05):
            if not self._thread.is_alive():  # closed (all drained) or, by a bug, crashed
                return task.done.is_set()
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    # -- waiting for the writer -----------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row recorded so far is committed; False if `timeout` ran out."""
        marker = _Task()
        if not self._closed:
            self._queue.put(marker)
        # The writer sets the marker, or ends (after close it drains everything, then stops).
        if self._wait(marker, timeout):
            return True
        return not self._thread.is_alive() and self._closed and self.dropped == 0

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, then stop the writer. Idempotent.

        Without a `timeout`, close waits as long as the database refuses the rows. With one, a
        writer still failing when it runs out stops retrying and logs how many rows were lost
        (`dropped`); a writer that is merely slow is given a few more seconds.
        """
        with self._close_lock:
            if not self._closed:
                self._closed = True
                atexit.unregister(self.close)
                self._queue.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._give_up.set()
                self._thread.join(RETRY_MAX + BUSY_SECONDS)

    async def aclose(self, timeout: float | None = None) -> None:
        """`close` without blocking the event loop."""
        await asyncio.to_thread(self.close, timeout)

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        db = Database(sqlite3.connect(self.path, timeout=BUSY_SECONDS))
        # Retention runs here, between batches: deletions never race the rows being written,
        # and the event loop never waits for them.
        next_purge = time.monotonic() if self.keep_days else float("inf")
        try:
            stopping = False
            while not stopping:
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + self._scheduled_purge(db)
                items, waiters, stopping = self._collect(next_purge)
                self._batch_size = len(items)
                if items:
                    self._write(db, items)
                self._batch_size = 0
                for waiter in waiters:
                    self._do(db, waiter)
        finally:
            db.close()
        if self._abandoned:
            log.error("question log: closed with %d rows not written", self.dropped)

    def _do(self, db: Database, task: _Task) -> None:
        try:
            if task.work is not None:
                task.result = task.work(db)
        except Exception as exc:  # handed to the caller waiting for it
            task.error = exc
        finally:
            task.done.set()

    def _scheduled_purge(self, db: Database) -> float:
        """The daily purge; returns the seconds until the next one (sooner after a failure)."""
        try:
            self._purge(db)
        except sqlite3.Error as exc:
            log.warning("question log: could not delete old rows (%s); trying again soon", exc)
            return PURGE_RETRY
        return PURGE_EVERY

    def _purge(self, db: Database) -> int:
        if not self.keep_days:
            return 0
        cutoff = _iso(datetime.now(UTC) - timedelta(days=self.keep_days))
        deleted = purge_before(db, cutoff)
        self.purged += deleted
        if deleted:
            log.info("question log: deleted %d rows older than %d days", deleted, self.keep_days)
        return deleted

    def _collect(self, until: float = float("inf")) -> tuple[list[tuple], list[_Task], bool]:
        """One batch: up to BATCH_ROWS rows or BATCH_SECONDS, cut short by a task or stop.
        Empty when nothing arrived before `until` (monotonic), the time of the next purge."""
        items: list[tuple] = []
        waiters: list[_Task] = []
        try:
            if until == float("inf"):
                item = self._queue.get()
            else:
                item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            return items, waiters, False
        deadline = time.monotonic() + BATCH_SECONDS
        while True:
            if item is _STOP:
                # Rows a racing thread queued just after close still get written.
                items += self._drain(waiters)
                return items, waiters, True
            if isinstance(item, _Task):
                waiters.append(item)
                return items, waiters, False
            items.append(item)
            remaining = deadline - time.monotonic()
            if len(items) >= BATCH_ROWS or remaining <= 0:
                return items, waiters, False
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return items, waiters, False

    def _drain(self, waiters: list[_Task]) -> list[tuple]:
        rest: list[tuple] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rest
            if isinstance(item, _Task):
                waiters.append(item)
            elif item is not _STOP:
                rest.append(item)

    def _rows(self, items: list[tuple]) -> tuple[list[dict], list[dict], list[dict]]:
        questions, votes, links = [], [], []
        for item in items:
            try:
                if item[0] == "q":
                    questions.append(self._question_row(*item[1:]))
                elif item[0] == "l":
                    _, at, key, faq_id, user_id, kind, shown = item
                    links.append(dict(ts=_iso(at), answer_key=key, faq_id=faq_id,
                                      user_hash=self.hash_user(user_id), kind=kind,
                                      shown_key=shown))
                else:
                    _, at, key, user_id, vote = item
                    user = self.hash_user(user_id)
                    votes.append(dict(ts=_iso(at), answer_key=key, user_hash=user, vote=vote))
            except Exception:  # a malformed row must not hold up the others
                log.exception("question log: dropped a row that could not be encoded")
                self.dropped += 1
        return questions, votes, links

    def _question_row(
        self,
        at: datetime,
        question: str,
        answer: Answer,
        chat_type: str,
        user_id: int | None,
        answer_key: str | None,
    ) -> dict[str, Any]:
        sentences = [
            {"document": e.document, "paragraph": e.paragraph, "sentence": e.sentence}
            for e in answer.excerpts
        ]
        return {
            "ts": _iso(at),
            "chat_type": chat_type,
            "user_hash": self.hash_user(user_id),
            "question": question if self.store_text else None,
            "answered": int(bool(answer.answered)),
            "confidence": round(float(answer.confidence), 4),
            "faq_id": answer.faq.id if answer.faq else None,
            "sentences": json.dumps(sentences, ensure_ascii=False),
            "answer_key": answer_key,
        }

    def _write(self, db: Database, items: list[tuple]) -> None:
        """Commit the items in chunks, retrying a failing chunk until it goes through."""
        for start in range(0, len(items), BATCH_ROWS):
            chunk = items[start : start + BATCH_ROWS]
            questions, votes, links = self._rows(chunk)
            self._commit(db, questions, votes, links)

    def _commit(
        self, db: Database, questions: list[dict], votes: list[dict], links: list[dict]
    ) -> None:
        delay, failing, count = RETRY_FIRST, False, len(questions) + len(votes) + len(links)
        if self._abandoned:
            self.dropped += count
            return
        while True:
            try:
                with db.atomic():
                    if questions:
                        db["questions"].insert_all(questions)
                    if votes:
                        db["feedback"].insert_all(votes, replace=True)
                    if links:
                        db["links"].insert_all(links)
            except sqlite3.OperationalError as exc:  # locked, busy, disk full, I/O: transient
                if not failing:
                    log.warning("question log: cannot write %d rows (%s); retrying", count, exc)
                    failing = True
                if self._give_up.wait(delay):  # a close that ran out of time: stop retrying
                    self._abandoned = True
                    self.dropped += count
                    return
                delay = min(delay * 2, RETRY_MAX)
                continue
            except sqlite3.Error:
                # Not transient (a constraint, a bad value): retrying the batch would never end,
                # so write the rows one by one and drop only those that fail.
                log.exception("question log: a batch failed; writing its rows one by one")
                self._commit_each(db, questions, votes, links)
                return
            if failing:
                log.info("question log: writing again")
            self.written += count
            return

    def _commit_each(
        self, db: Database, questions: list[dict], votes: list[dict], links: list[dict]
    ) -> None:
        tables = (("questions", questions, False), ("feedback", votes, True),
                  ("links", links, False))
        for table, rows, replace in tables:
            for row in rows:
                try:
                    with db.atomic():
                        db[table].insert(row, replace=replace)
                    self.written += 1
                except sqlite3.Error as exc:
                    log.error("question log: dropped a %s row: %s", table, exc)
                    self.dropped += 1


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def _stored_salt(db: Database) -> str:
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", [secrets.token_hex(16)]
    )
    return next(db.query("SELECT value FROM meta WHERE key = 'salt'"))["value"]


def _store_keep_days(db: Database, keep_days: int) -> None:
    if keep_days:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('keep_days', ?)", [keep_days])
    else:
        db.execute("DELETE FROM meta WHERE key = 'keep_days'")


def stored_keep_days(db: Database) -> int | None:
    """The retention the log was last opened with; None when it keeps everything."""
    if "meta" not in db.table_names():
        return None
    row = next(db.query("SELECT value FROM meta WHERE key = 'keep_days'"), None)
    try:
        days = int(row["value"]) if row else 0
    except ValueError:
        return None
    return days if days > 0 else None


def _forget(db: Database, user: str | None) -> Forgotten:
    """One transaction, so a reader never sees half a person forgotten."""
    if user is None:
        return Forgotten()
    with db.atomic():
        conn = db.conn
        votes = conn.execute("DELETE FROM feedback WHERE user_hash = ?", [user]).rowcount
        # Other people's votes on this person's answers: their question is about to go, and a
        # vote on nothing would be counted against an unknown answer.
        orphans = conn.execute(
            "DELETE FROM feedback WHERE answer_key IN (SELECT answer_key FROM questions"
            " WHERE user_hash = ? AND answer_key IS NOT NULL) AND NOT EXISTS (SELECT 1"
            " FROM questions AS q WHERE q.answer_key = feedback.answer_key"
            " AND q.user_hash IS NOT ?)",
            [user, user],
        ).rowcount
        # Their taps, and other people's taps under their questions (the same reason as votes).
        links = conn.execute(
            "DELETE FROM links WHERE user_hash = ? OR (answer_key IN (SELECT answer_key FROM"
            " questions WHERE user_hash = ? AND answer_key IS NOT NULL) AND NOT EXISTS (SELECT 1"
            " FROM questions AS q WHERE q.answer_key = links.answer_key AND q.user_hash IS NOT ?))",
            [user, user, user],
        ).rowcount
        questions = conn.execute("DELETE FROM questions WHERE user_hash = ?", [user]).rowcount
    return Forgotten(questions=questions, votes=votes, votes_on_their_answers=orphans,
                     links=links)


def purge_before(db: Database, cutoff: str) -> int:
    """Delete questions, votes and links older than `cutoff` (an ISO UTC time), and the votes and
    links on those questions, in transactions of PURGE_CHUNK rows; returns how many rows went."""
    conn, deleted = db.conn, 0
    while True:
        with db.atomic():
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM questions WHERE ts < ? ORDER BY ts LIMIT ?",
                    [cutoff, PURGE_CHUNK],
                )
            ]
            if ids:
                marks = ",".join("?" * len(ids))
                deleted += conn.execute(
                    "DELETE FROM feedback WHERE answer_key IN (SELECT answer_key FROM questions"
                    f" WHERE id IN ({marks}) AND answer_key IS NOT NULL)",
                    ids,
                ).rowcount
                deleted += conn.execute(
                    "DELETE FROM links WHERE answer_key IN (SELECT answer_key FROM questions"
                    f" WHERE id IN ({marks}) AND answer_key IS NOT NULL)",
                    ids,
                ).rowcount
                deleted += conn.execute(
                    f"DELETE FROM questions WHERE id IN ({marks})", ids
                ).rowcount
        if len(ids) < PURGE_CHUNK:
            break
    for table in ("feedback", "links"):
        while True:
            with db.atomic():
                gone = conn.execute(
                    f"DELETE FROM {table} WHERE id IN"
                    f" (SELECT id FROM {table} WHERE ts < ? ORDER BY ts LIMIT ?)",
                    [cutoff, PURGE_CHUNK],
                ).rowcount
            deleted += gone
            if gone < PURGE_CHUNK:
                break
    return deleted
