"""Open the engine on an up-to-date index, for every command that answers questions.

Why a module of its own: the CLI, the bot's start-up and its /reload (or SIGHUP) all need the same
steps (ensure the index, load it, rebuild an index that opens but cannot be read) and the same
outcome when that fails: one line saying why, never a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import index

if TYPE_CHECKING:
    from bot.config import Config
    from bot.search import Engine

log = logging.getLogger(__name__)


class IndexUnusable(Exception):
    """The index can neither be read nor rebuilt (a directory in its place, a full disk...):
    told in one line, exit code 2."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """An engine and what it was loaded from."""

    engine: Engine
    seeds_hash: str | None  # the hash stored in the index it was loaded from
    built: bool  # the index was (re)built on the way
    warning: str = ""  # a rebuild failed and the previous index is serving


def load_engine(cfg: Config, *, force: bool = False) -> Loaded:
    """Ensure the index (build it when missing, stale or garbage) and load the engine from it.

    Raises SeedError when the seeds are broken and there is no previous index to fall back on,
    and IndexUnusable when the index file cannot be read or written at all.
    """
    from bot.search import Engine

    try:
        status = index.ensure(cfg.seeds, cfg.db, force=force)
    except (OSError, sqlite3.Error) as exc:
        raise IndexUnusable(f"cannot build the index {cfg.db}: {_reason(exc)}") from exc
    built = status.built
    try:
        engine = Engine(cfg.db, cfg.matching)
    except sqlite3.DatabaseError as exc:
        # Its hash was readable but the rest is not (a truncated or half-overwritten file):
        # the seeds are the source of truth, so build it again from them.
        log.warning("index %s is unreadable (%s); rebuilding it from the seeds", cfg.db, exc)
        try:
            index.build(cfg.seeds, cfg.db)
            engine = Engine(cfg.db, cfg.matching)
        except (OSError, sqlite3.Error) as again:
            raise IndexUnusable(
                f"the index {cfg.db} is unreadable and cannot be rebuilt: {_reason(again)}"
            ) from again
        built = True
    return Loaded(engine, index.stored_hash(cfg.db), built, status.warning)


def _reason(exc: BaseException) -> str:
    """The short cause: "Is a directory" rather than "[Errno 21] Is a directory: '...'"."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
