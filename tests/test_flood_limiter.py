"""bot.telegram.flood.FloodLimiter: however requests arrive, no window Telegram counts in holds
more than it allows (30 a second overall, 20 a minute a group, about one a second in a private
chat after a short burst).

PTB's AIORateLimiter runs on the event loop's clock, so the test runs it on a loop whose clock
is virtual: when nothing is ready the loop jumps to its next timer instead of sleeping. Minutes
of traffic take milliseconds, and the timestamps are exact.
"""

from __future__ import annotations

import asyncio
import selectors
from collections import defaultdict
from typing import Any

import pytest
from telegram.ext import AIORateLimiter

from bot.telegram.flood import FloodLimiter, counted

GROUPS = (-1001, -1002)
ONE = 4242


class _Jump(selectors.DefaultSelector):
    """A selector that never sleeps: with nothing to read, time moves on to the next timer (and
    by a microsecond at least, as real time would between two turns of the loop)."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if not events:
            self.clock[0] += max(timeout or 0.0, 1e-6)
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.clock = [0.0]
        super().__init__(_Jump(self.clock))

    def time(self) -> float:
        return self.clock[0]


def _max_in_window(times: list[float], span: float) -> int:
    times, most, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= span - 1e-9:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _flood(
    limiter: AIORateLimiter, private: int, per_group: int, one_user: int = 0,
    endpoint: str = "sendMessage",
) -> dict[Any, list[float]]:
    """Everything at once: `private` answers to as many users, `per_group` to each group,
    `one_user` to user ONE."""
    loop = asyncio.get_running_loop()
    sent: dict[Any, list[float]] = defaultdict(list)

    async def send(chat: int) -> bool:
        sent["all"].append(loop.time())
        sent[chat].append(loop.time())
        return True

    chats = [10_000 + i for i in range(private)] + [g for g in GROUPS for _ in range(per_group)]
    chats += [ONE] * one_user
    await limiter.initialize()
    await asyncio.gather(*(
        limiter.process_request(send, (chat,), {}, endpoint, {"chat_id": chat}, None)
        for chat in chats
    ))
    await limiter.shutdown()
    return sent


def _run(
    limiter: AIORateLimiter, private: int, per_group: int, **kw: Any
) -> dict[Any, list[float]]:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(_flood(limiter, private, per_group, **kw))


@pytest.mark.parametrize("per_second", [25, 10, 1])
def test_no_second_goes_over_telegrams_overall_limit(per_second: int) -> None:
    sent = _run(FloodLimiter(per_second, max_retries=0), private=300, per_group=0)
    assert len(sent["all"]) == 300  # everything went, in the end
    # No second carries more than the configured pace, burst included: Telegram's 30 less room
    # for the network bunching requests up (at 1 a second: the burst of one, then one a second).
    assert _max_in_window(sent["all"], 1.0) <= max(per_second, 2)
    assert _max_in_window(sent["all"], 10.0) <= 10 * per_second + 5  # at the configured pace


def test_no_group_minute_goes_over_telegrams_group_limit() -> None:
    sent = _run(FloodLimiter(25, max_retries=0), private=0, per_group=45)
    for group in GROUPS:
        assert len(sent[group]) == 45
        assert _max_in_window(sent[group], 60.0) <= 20


def test_a_user_firing_questions_gets_three_at_once_then_one_a_second() -> None:
    sent = _run(FloodLimiter(25, max_retries=0), private=0, per_group=0, one_user=12)
    assert len(sent[ONE]) == 12
    for span in (1.0, 2.0, 5.0):
        assert _max_in_window(sent[ONE], span) <= 3 + span


def test_typing_is_not_held_back_with_the_messages() -> None:
    assert not counted("sendChatAction") and counted("sendMessage") and counted("editMessageText")
    sent = _run(FloodLimiter(25, max_retries=0), 0, 0, one_user=12, endpoint="sendChatAction")
    assert max(sent[ONE]) < 1.0


def test_ptbs_defaults_would_go_over_all_three() -> None:
    """The checks above can fail: PTB's own defaults break each limit in the same floods."""
    assert _max_in_window(_run(AIORateLimiter(), 300, 0)["all"], 1.0) > 30
    sent = _run(AIORateLimiter(), 0, 45)
    assert max(_max_in_window(sent[g], 60.0) for g in GROUPS) > 20
    assert _max_in_window(_run(AIORateLimiter(), 0, 0, one_user=12)[ONE], 1.0) > 4
