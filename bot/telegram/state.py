"""What the handlers share: the engine, the recent answers that buttons refer to, the question
log, and the config that says who the admins are."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.answer import Answer
from bot.config import Config
from bot.telegram.inbox import Inbox

if TYPE_CHECKING:
    from bot.questionlog import QuestionLog
    from bot.search import Engine

CACHE_SIZE = 10_000
SEEN_SIZE = 10_000
SEEN_SECONDS = 600.0


class AnswerCache:
    """A bounded LRU of recent answers under short random keys.

    Why: callback data holds at most 64 bytes, too few for a question, so "More" and the votes
    carry a key into this cache instead. A key that fell out (or a restart) means "ask again".
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()

    def new_key(self) -> str:
        """A key no cached answer has: 8 URL-safe characters (no ":" so it fits our format).
        Also for answers that are logged under a key but never cached (refused ones)."""
        key = secrets.token_urlsafe(6)
        while key in self._items:
            key = secrets.token_urlsafe(6)
        return key

    def put(self, answer: Answer) -> str:
        """Store an answer under a `new_key`, and return that key."""
        key = self.new_key()
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


class SeenRecently:
    """Which (user, text) pairs were seen in the last `seconds`, at most `size` of them.

    Why: Telegram sends an inline query again when its cache expires or the person retypes it;
    the question log should count the question once, not once per delivery.
    """

    def __init__(self, size: int = SEEN_SIZE, seconds: float = SEEN_SECONDS) -> None:
        self.size, self.seconds = size, seconds
        self._seen: OrderedDict[tuple[int | None, str], float] = OrderedDict()

    def first_time(self, user_id: int | None, text: str, now: float | None = None) -> bool:
        """True (and remembered) unless the pair was seen within the window."""
        now = time.monotonic() if now is None else now
        key = (user_id, text)
        at = self._seen.get(key)
        if at is not None and now - at < self.seconds:
            return False
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


@dataclass(slots=True)
class BotState:
    """Kept in `application.bot_data["state"]`, one per Application.

    `engine` is swapped whole by a reload (one assignment), so handlers read it from here each
    time and never keep it between updates. `log` is opened in post_init, closed in
    post_shutdown, and None outside that span (handlers then log nothing).
    """

    engine: Engine
    config: Config = field(default_factory=Config)
    cache: AnswerCache = field(default_factory=AnswerCache)
    log: QuestionLog | None = None
    inline_seen: SeenRecently = field(default_factory=SeenRecently)
    seeds_hash: str | None = None  # the index the engine was loaded from
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Per-person queues: the handlers hand their work here so one person's flood holds no slot.
    inbox: Inbox = field(default_factory=Inbox)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.admins
