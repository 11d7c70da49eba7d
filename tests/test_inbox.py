"""The per-person queues: never throttle a person who waits for answers, coalesce a flood to its
newest message, never let one person's queue delay another's, stop in bounded time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable

from bot.telegram.inbox import Inbox, Job

FAST = {"lull": 0.05, "per_minute": 600}  # pace = 0.1 s, so the tests stay short


class Recorder:
    """Jobs that record when they ran; `seconds` is how long each takes (a send held back by
    the chat's flood limit)."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.ran: list[tuple[Hashable, int, float]] = []
        self.dropped: list[tuple[Hashable, int]] = []
        self.notified: list[Hashable] = []

    def job(self, key: Hashable, n: int) -> Job:
        async def run() -> None:
            self.ran.append((key, n, time.monotonic()))
            await asyncio.sleep(self.seconds)

        async def drop() -> None:
            self.dropped.append((key, n))

        return Job(run, drop)

    async def notify(self, key: Hashable) -> None:
        self.notified.append(key)

    def numbers(self, key: Hashable) -> list[int]:
        return [n for k, n, _ in self.ran if k == key]


async def settle(inbox: Inbox, timeout: float = 5.0) -> None:
    """Wait until no worker is left (aclose with a generous timeout would also pace nothing)."""
    deadline = time.monotonic() + timeout
    while any(inbox.waiting(k) for k in list(inbox._people)) or inbox.running:
        assert time.monotonic() < deadline, "the inbox never settled"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)


async def test_a_person_asking_after_each_answer_is_never_throttled() -> None:
    rec = Recorder()
    inbox = Inbox(notify=rec.notify, **FAST)
    for n in range(100):  # far more than per_minute would allow if it counted alone
        inbox.submit("ann", rec.job("ann", n))
        await settle(inbox)
    assert rec.numbers("ann") == list(range(100))
    assert rec.dropped == [] and rec.notified == [] and inbox.dropped == 0


async def test_a_few_at_once_are_all_answered_in_order() -> None:
    rec = Recorder(seconds=0.02)
    inbox = Inbox(notify=rec.notify, **FAST)
    for n in range(inbox.max_waiting + 1):  # one running, max_waiting waiting
        inbox.submit("ann", rec.job("ann", n))
    await settle(inbox)
    assert rec.numbers("ann") == [0, 1, 2, 3]
    assert rec.dropped == [] and rec.notified == []


async def test_a_flood_is_answered_with_a_handful_the_last_one_its_newest() -> None:
    rec = Recorder(seconds=0.1)  # each answer held back 0.1 s, as a flood-limited chat
    inbox = Inbox(notify=rec.notify, **FAST)
    started = time.monotonic()
    for n in range(200):
        inbox.submit("ann", rec.job("ann", n))
        assert inbox.waiting("ann") <= inbox.max_waiting  # memory stays bounded
        await asyncio.sleep(0.005)  # 200 in a second or two
    flood = time.monotonic() - started
    await settle(inbox)
    answered = rec.numbers("ann")
    assert answered[0] == 0 and answered[-1] == 199
    # At most one answer per pace (0.1 s) over the flood, plus its start and its end.
    assert len(answered) <= flood / inbox.pace + 3 < 100
    assert len(answered) + len(rec.dropped) == 200 == len(answered) + inbox.dropped
    assert rec.notified == ["ann"]  # told once


async def test_another_person_is_not_delayed_by_a_flood() -> None:
    rec = Recorder(seconds=0.5)  # the flooder's answers are slow to leave
    inbox = Inbox(notify=rec.notify, **FAST)
    for n in range(50):
        inbox.submit("flood", rec.job("flood", n))
    asked = time.monotonic()
    inbox.submit("bob", rec.job("bob", 0))
    await asyncio.sleep(0.05)
    [(_, _, started)] = [r for r in rec.ran if r[0] == "bob"]
    assert started - asked < 0.05
    await inbox.aclose(timeout=0.1)


async def test_a_failing_job_goes_to_on_error_and_the_queue_goes_on() -> None:
    errors: list[BaseException] = []
    rec = Recorder()

    async def boom() -> None:
        raise ValueError("broken handler")

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)

    inbox = Inbox(on_error=on_error, **FAST)
    inbox.submit("ann", Job(boom))
    inbox.submit("ann", rec.job("ann", 1))
    await settle(inbox)
    assert [type(e) for e in errors] == [ValueError]
    assert rec.numbers("ann") == [1]


async def test_close_answers_what_it_can_then_drops_the_rest_in_bounded_time() -> None:
    rec = Recorder(seconds=30.0)  # a send that would never finish in time
    inbox = Inbox(notify=rec.notify, **FAST)
    for n in range(3):
        inbox.submit("ann", rec.job("ann", n))
    inbox.submit("bob", Recorder().job("bob", 0))  # quick: finishes before the deadline
    await asyncio.sleep(0.01)
    started = time.monotonic()
    dropped = await inbox.aclose(timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert dropped == 3  # ann's running job and her two waiting ones
    inbox.submit("ann", rec.job("ann", 9))  # after close: dropped, never run
    await asyncio.sleep(0.01)
    assert 9 not in rec.numbers("ann") and (("ann", 9) in rec.dropped)


async def test_idle_people_are_forgotten() -> None:
    clock = [0.0]
    inbox = Inbox(clock=lambda: clock[0], **FAST)
    rec = Recorder()
    for person in range(2000):
        inbox.submit(person, rec.job(person, 0))
    await settle(inbox)
    clock[0] = 120.0  # everyone idle for two minutes
    for person in range(2000, 4000):
        inbox.submit(person, rec.job(person, 0))
        await asyncio.sleep(0)
    await settle(inbox)
    assert inbox.people <= 2100  # the first 2000 went with a sweep


async def test_a_job_to_keep_survives_a_flood() -> None:
    """/forget sent in the middle of a flood is still done, once, in its turn."""
    rec = Recorder(seconds=0.05)
    inbox = Inbox(notify=rec.notify, **FAST)
    for n in range(30):
        job = rec.job("ann", n)
        if n in (5, 6):  # two /forget in a row: one is enough
            job = Job(job.run, job.drop, keep=True)
        inbox.submit("ann", job)
        await asyncio.sleep(0.002)
    await settle(inbox)
    answered = rec.numbers("ann")
    assert 5 in answered and 6 not in answered and answered[-1] == 29
