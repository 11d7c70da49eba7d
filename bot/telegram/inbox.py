"""One queue a person: one person's flood never holds what another person's answer needs.

Why: PTB handles at most `CONCURRENT_UPDATES` updates at once, and a reply to one chat may wait
a second or more for that chat's flood limit. Were handlers to wait in PTB's slots, one person
sending 200 messages would fill all of them and everybody else would wait too. So a handler
hands its work to the sender's queue here and returns at once: each person has at most one job
running and `max_waiting` waiting, in their own task, outside PTB's slots.

A person who asks one question after another, each after the last answer, is never held back:
a job that finds the person idle runs at once. The limit bites only when their questions pile
up, that is with more than `max_waiting` waiting or more than `per_minute` arrivals in the last
minute while one is still running: then only the newest waiting job is kept, the older ones are
dropped (each `Job.drop` is called, so a button press still gets its query answered and the log
counts it), and `notify` is called once a minute at most to say so. While a person floods,
their newest job waits for a lull (`lull` seconds without a new message) or at most
`60 / per_minute` seconds since their last job started, so a sustained flood gets one answer
every few seconds, and the answer to the flood's last message comes once it stops.

Memory stays bounded: at most `max_waiting + 1` jobs a person, and a person's entry goes once
they have been idle for a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

WINDOW = 60.0  # seconds over which `per_minute` counts a person's arrivals
NOTIFY_EVERY = 60.0  # a flooding person hears why at most once in this many seconds
PRUNE_ABOVE = 1024  # people kept before idle entries are swept


@dataclass(frozen=True, slots=True)
class Job:
    """What a person asked for: `run` does it; `drop` says it will not be done (optional).
    A `keep` job (/forget) survives a flood's coalescing: one of them waits at most."""

    run: Callable[[], Awaitable[None]]
    drop: Callable[[], Awaitable[None]] | None = None
    keep: bool = False


@dataclass(slots=True)
class _Person:
    waiting: deque[Job] = field(default_factory=deque)
    arrivals: deque[float] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    running: Job | None = None  # handed to a new worker, so it counts as running at once
    coalesced: bool = False  # the person floods: pace their next job
    flood_until: float = float("-inf")  # arrivals before this are paced even when idle
    notify_due: bool = False
    notified_at: float = float("-inf")
    last_started: float = float("-inf")


class Inbox:
    """Per-person job queues with flood coalescing; see the module's docstring."""

    def __init__(
        self,
        *,
        max_waiting: int = 3,
        per_minute: int = 20,
        lull: float = 1.0,
        notify: Callable[[Hashable], Awaitable[None]] | None = None,
        on_error: Callable[[BaseException], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_waiting, self.per_minute, self.lull = max_waiting, per_minute, lull
        self.pace = WINDOW / per_minute
        self.notify, self.on_error, self.clock = notify, on_error, clock
        self._people: dict[Hashable, _Person] = {}
        self._prune_above = PRUNE_ABOVE  # doubles with the people still active: amortised O(1)
        self._closing = False
        self._drops: set[asyncio.Task[None]] = set()
        self.dropped = 0  # jobs dropped since start, flood and shutdown alike
        self.running = 0  # jobs running now, all people together

    # -- the handler's side: never waits -------------------------------------------------------

    def submit(self, key: Hashable, job: Job) -> None:
        """Queue `job` for the person `key`: run at once if they are idle and not flooding."""
        now = self.clock()
        if len(self._people) > self._prune_above:
            self._prune(now)
        person = self._people.setdefault(key, _Person())
        arrivals = person.arrivals
        arrivals.append(now)
        while arrivals and now - arrivals[0] > WINDOW:
            arrivals.popleft()
        while len(arrivals) > self.per_minute + 1:  # enough to know the rate is exceeded
            arrivals.popleft()
        person.waiting.append(job)
        if self._closing:
            self._drop_all_but_newest(key, person, keep=0)
            return
        busy = person.worker is not None
        flooding = now < person.flood_until
        piled = len(person.waiting) > self.max_waiting or len(arrivals) > self.per_minute
        if flooding or (busy and piled):  # flooding: every arrival within `pace` of the last
            self._drop_all_but_newest(key, person, keep=1)
            person.flood_until = now + self.pace
            person.coalesced = True
        if not busy:
            if not person.coalesced:  # idle and not flooding: this job is running, not waiting
                person.running = person.waiting.popleft()
            person.worker = asyncio.create_task(self._work(key, person), name=f"inbox-{key}")

    def waiting(self, key: Hashable) -> int:
        person = self._people.get(key)
        return len(person.waiting) if person else 0

    @property
    def people(self) -> int:
        return len(self._people)

    # -- the worker: one task per person while they have jobs ----------------------------------

    async def _work(self, key: Hashable, person: _Person) -> None:
        try:
            while person.running is not None or person.waiting:
                if person.running is None and person.coalesced and not self._closing:
                    await self._await_lull(person)
                    person.coalesced = False
                if person.running is not None:
                    job, person.running = person.running, None
                elif person.waiting:
                    job = person.waiting.popleft()
                else:
                    break
                if person.notify_due and self.notify is not None:
                    person.notify_due = False
                    await self._guarded(self.notify(key))
                person.last_started = self.clock()
                self.running += 1
                try:
                    await self._guarded(job.run())
                finally:
                    self.running -= 1
        finally:
            person.worker = None

    async def _await_lull(self, person: _Person) -> None:
        """Sleep until the person paused for `lull` s, or `pace` s passed since their last job."""
        while not self._closing:
            now = self.clock()
            quiet_at = person.arrivals[-1] + self.lull if person.arrivals else now
            due = min(quiet_at, person.last_started + self.pace)
            if due <= now:
                return
            await asyncio.sleep(due - now)

    async def _guarded(self, step: Awaitable[None]) -> None:
        """Run a job's step; an exception goes to `on_error` and never stops the worker."""
        try:
            await step
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.on_error is None:
                log.error("job failed", exc_info=exc)
            else:
                await self.on_error(exc)

    def _drop_all_but_newest(self, key: Hashable, person: _Person, keep: int) -> None:
        older = [person.waiting.popleft() for _ in range(len(person.waiting) - keep)]
        kept = [] if self._closing else [job for job in older if job.keep][:1]
        person.waiting.extendleft(kept)
        dropped = [job for job in older if job not in kept]
        if not dropped:
            return
        self.dropped += len(dropped)
        now = self.clock()
        if keep and now - person.notified_at >= NOTIFY_EVERY:  # a line a minute, not a flood
            person.notified_at, person.notify_due = now, True
            log.info("flood from %s: answering only the newest of its messages", _who(key))
        for job in dropped:
            if job.drop is not None:
                task = asyncio.create_task(self._guarded(job.drop()), name=f"inbox-drop-{key}")
                self._drops.add(task)  # held, so the loop cannot lose it half-way
                task.add_done_callback(self._drops.discard)

    def _prune(self, now: float) -> None:
        for key, person in list(self._people.items()):
            idle = person.worker is None and not person.waiting
            if idle and (not person.arrivals or now - person.arrivals[-1] > WINDOW):
                del self._people[key]
        self._prune_above = max(PRUNE_ABOVE, 2 * len(self._people))

    # -- shutdown ------------------------------------------------------------------------------

    async def aclose(self, timeout: float) -> int:
        """Stop taking jobs, let the workers finish what they can within `timeout` seconds
        (no pacing any more), then cancel the rest; returns how many jobs were dropped."""
        self._closing = True
        before = self.dropped
        workers = [p.worker for p in self._people.values() if p.worker is not None]
        if workers:
            _, late = await asyncio.wait(workers, timeout=timeout)
            for person in self._people.values():
                if person.worker in late:
                    self.dropped += len(person.waiting) + 1  # the running job and the waiting
                    person.waiting.clear()
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._drops:
            await asyncio.wait(self._drops, timeout=timeout)
        dropped = self.dropped - before
        if dropped:
            log.warning("shutdown: %d update(s) left unanswered after %.0f s", dropped, timeout)
        return dropped


def _who(key: Hashable) -> str:
    """A person's key for the log: chat and user ids, never what they wrote."""
    return ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
