"""Telegram's flood limits, kept by the bot rather than discovered through 429s.

A 429 makes PTB's AIORateLimiter pause *every* request until it has waited out retry_after,
so one busy group or one user firing questions would stall every chat. The limits
(TELEGRAM.md): about 30 messages a second overall, 20 a minute in a group, about one a second
in a private chat (short bursts tolerated).

The limiters are leaky buckets: over any span they let through their burst plus their rate
times the span. PTB's defaults (30 a second and 20 a minute a group, each all at once, and no
private-chat limit) can thus put 60 requests in one second and 40 in one group's minute. So:
overall, at most `per_second` (at most 25) in any second, burst included: 5 at once, then
per_second - 5 a second (Telegram counts requests as they arrive, and the network and a busy
event loop bunch them up: a pace that reaches 30 in a second on paper draws 429s in practice);
15 a minute a group in steps of 5; and in a private chat 3 at once then one every 1.1 s.

One gap is PTB's: a request takes its chat's slot before it queues for the overall one, so
while the overall limit is the bottleneck one chat's replies can bunch up; a 429 that may then
come is waited out, MAX_RETRIES times before giving up (as `handlers.send` does without a
limiter).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

BURST = 5  # requests sent at once at most, overall and to one group
GROUP_PER_MINUTE = 15  # a group's steady rate: with the burst, 20 in any minute
PRIVATE_BURST = 3  # a private chat: 3 at once, then one every PRIVATE_SECONDS
PRIVATE_SECONDS = 1.1  # a tenth over Telegram's second: the network can bunch two replies up
KEEP_IDLE_LIMITERS = 512  # private-chat limiters kept before idle ones are dropped


def counted(endpoint: str) -> bool:
    """The calls Telegram counts as messages to a chat (not "typing", not answers to queries)."""
    name = endpoint.lower()
    return (name.startswith("send") and name != "sendchataction") or name.startswith(
        ("editmessage", "copymessage", "forwardmessage")
    )


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter plus the private-chat limit it lacks."""

    def __init__(self, per_second: int, max_retries: int) -> None:
        # A leaky bucket lets its burst plus its rate through in a second: the rate is what is
        # left of `per_second` after the burst, so that no second carries more than per_second
        # (25 by default: Telegram's 30 less room for the network bunching requests up).
        burst = max(1, min(BURST, per_second // 2))
        steady = max(1, per_second - burst)
        super().__init__(
            overall_max_rate=burst,
            overall_time_period=burst / steady,
            group_max_rate=BURST,
            group_time_period=60 * BURST / GROUP_PER_MINUTE,
            max_retries=max_retries,
        )
        self._private: dict[int, AsyncLimiter] = {}

    def _private_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._private) > KEEP_IDLE_LIMITERS:  # drop the idle ones, as PTB does for groups
            for key, limiter in list(self._private.items()):
                if key != chat_id and limiter.has_capacity(limiter.max_rate):
                    del self._private[key]
        if chat_id not in self._private:
            self._private[chat_id] = AsyncLimiter(PRIVATE_BURST, PRIVATE_BURST * PRIVATE_SECONDS)
        return self._private[chat_id]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if isinstance(chat_id, int) and chat_id > 0 and counted(endpoint):
            async with self._private_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
