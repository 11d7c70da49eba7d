"""What the handlers share: the engine and the recent answers that buttons refer to."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.answer import Answer

if TYPE_CHECKING:
    from bot.search import Engine

CACHE_SIZE = 10_000


class AnswerCache:
    """A bounded LRU of recent answers under short random keys.

    Why: callback data holds at most 64 bytes, too few for a question, so "More" and the votes
    carry a key into this cache instead. A key that fell out (or a restart) means "ask again".
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()

    def put(self, answer: Answer) -> str:
        """Store an answer; its key is 8 URL-safe characters (no ":" so it fits our format)."""
        key = secrets.token_urlsafe(6)
        while key in self._items:
            key = secrets.token_urlsafe(6)
        self._items[key] = answer
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Answer | None:
        answer = self._items.get(key)
        if answer is not None:
            self._items.move_to_end(key)
        return answer

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class BotState:
    """Kept in `application.bot_data["state"]`, one per Application."""

    engine: Engine
    cache: AnswerCache = field(default_factory=AnswerCache)
