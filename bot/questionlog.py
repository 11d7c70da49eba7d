"""The question log: what people asked, how it went, and their votes, for the editor's report.

Its own SQLite file (WAL), never the index: the index is rebuilt from the seeds at will, the log is
history. Callers are asyncio handlers, so `record` and `record_feedback` only put a row on a queue;
one writer thread turns the queue into batched transactions. User ids are kept only as a salted
hash, so the log can count people and keep one vote per person without knowing who they are.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
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


def new_answer_key() -> str:
    """A short random key (8 URL-safe characters, no ':') for a button's callback data."""
    return secrets.token_urlsafe(6)


def ensure_schema(db: Database) -> None:
    """Create the tables and indexes if missing; harmless on an existing log."""
    db["questions"].create(_QUESTIONS, pk="id", not_null={"ts", "chat_type"}, if_not_exists=True)
    db["questions"].create_index(["ts"], if_not_exists=True)
    db["questions"].create_index(["answer_key"], if_not_exists=True)
    db["feedback"].create(_FEEDBACK, pk="id", not_null={"ts", "answer_key"}, if_not_exists=True)
    # The unique pair is what makes a later vote replace the earlier one (INSERT OR REPLACE).
    db["feedback"].create_index(["answer_key", "user_hash"], unique=True, if_not_exists=True)
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)


@dataclass(slots=True)
class _Flush:
    """A marker: the writer sets `done` once every row queued before it is committed."""

    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


class QuestionLog:
    """Append-only log of questions and votes, written by a background thread.

    Nothing queued is lost: `flush` and `close` wait until the rows are committed, and a failing
    write (locked or full disk) is retried with backoff instead of dropping the batch.
    """

    def __init__(self, path: Path, store_text: bool = True, salt: str | None = None) -> None:
        self.path = Path(path)
        self.store_text = store_text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(self.path, timeout=BUSY_SECONDS))
        try:
            db.execute("PRAGMA journal_mode=wal")
            with db.atomic():
                ensure_schema(db)
                # A configured salt stays out of the file, so a leaked log cannot be brute-forced
                # back to user ids; without one, a random salt is made once and kept here.
                self._salt = salt or _stored_salt(db)
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

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the question log is closed")

    # -- waiting for the writer -----------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row recorded so far is committed; False if `timeout` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        marker = _Flush()
        if not self._closed:
            self._queue.put(marker)
        # The writer sets the marker, or ends (after close it drains everything, then stops).
        while not marker.done.wait(0.05):
            if not self._thread.is_alive():  # closed (all drained) or, by a bug, crashed
                return self._closed and self.dropped == 0
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

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
        try:
            stopping = False
            while not stopping:
                items, waiters, stopping = self._collect()
                self._batch_size = len(items)
                if items:
                    self._write(db, items)
                self._batch_size = 0
                for waiter in waiters:
                    waiter.done.set()
        finally:
            db.close()
        if self._abandoned:
            log.error("question log: closed with %d rows not written", self.dropped)

    def _collect(self) -> tuple[list[tuple], list[_Flush], bool]:
        """One batch: up to BATCH_ROWS rows or BATCH_SECONDS, cut short by a flush or stop."""
        items: list[tuple] = []
        waiters: list[_Flush] = []
        item = self._queue.get()
        deadline = time.monotonic() + BATCH_SECONDS
        while True:
            if item is _STOP:
                # Rows a racing thread queued just after close still get written.
                items += self._drain(waiters)
                return items, waiters, True
            if isinstance(item, _Flush):
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

    def _drain(self, waiters: list[_Flush]) -> list[tuple]:
        rest: list[tuple] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rest
            if isinstance(item, _Flush):
                waiters.append(item)
            elif item is not _STOP:
                rest.append(item)

    def _rows(self, items: list[tuple]) -> tuple[list[dict], list[dict]]:
        questions, votes = [], []
        for item in items:
            try:
                if item[0] == "q":
                    questions.append(self._question_row(*item[1:]))
                else:
                    _, at, key, user_id, vote = item
                    user = self.hash_user(user_id)
                    votes.append(dict(ts=_iso(at), answer_key=key, user_hash=user, vote=vote))
            except Exception:  # a malformed row must not hold up the others
                log.exception("question log: dropped a row that could not be encoded")
                self.dropped += 1
        return questions, votes

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
            questions, votes = self._rows(chunk)
            self._commit(db, questions, votes)

    def _commit(self, db: Database, questions: list[dict], votes: list[dict]) -> None:
        delay, failing, count = RETRY_FIRST, False, len(questions) + len(votes)
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
                self._commit_each(db, questions, votes)
                return
            if failing:
                log.info("question log: writing again")
            self.written += count
            return

    def _commit_each(self, db: Database, questions: list[dict], votes: list[dict]) -> None:
        for table, rows, replace in (("questions", questions, False), ("feedback", votes, True)):
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
