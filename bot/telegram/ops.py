"""Operations on a running bot: reloading the index (/reload, SIGHUP) without dropping an update.

Why the engine is built off the event loop and swapped in one assignment: building takes from a
fraction of a second to minutes, and the loop must keep answering meanwhile; a handler that
started before the swap finishes on the old engine, every later one reads the new one.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass

from bot import index
from bot.config import Config
from bot.ingest import SeedError
from bot.loader import IndexUnusable, Loaded, load_engine
from bot.telegram.state import BotState

log = logging.getLogger(__name__)

KEPT = "Reload failed; still answering from the previous index."


@dataclass(frozen=True, slots=True)
class Reload:
    """How a reload went, in words fit for an admin and the log."""

    ok: bool
    message: str


class _Failed(Exception):
    """A rebuild that failed with the previous index kept (index.ensure's warning)."""


def _fresh(cfg: Config, current_hash: str | None) -> Loaded | None:
    """A new engine from the rebuilt index; None when the index already serving is current."""
    status = index.ensure(cfg.seeds, cfg.db)
    if status.warning:
        raise _Failed(status.warning)
    if not status.built and index.stored_hash(cfg.db) == current_hash:
        return None
    return load_engine(cfg)


def _summary(loaded: Loaded) -> str:
    engine = loaded.engine
    documents = len(engine.documents)
    sentences = sum(d.sentences for d in engine.documents.values())
    return (
        f"Reloaded: {documents} document{'s' * (documents != 1)}, {sentences} sentences, "
        f"{len(engine.faq_list())} FAQ entries."
    )


async def reload_engine(state: BotState) -> Reload:
    """Rebuild the index from the seeds and swap the new engine in; on any failure the engine
    already serving stays. Reloads queue up behind each other (a lock), never overlap."""
    async with state.reload_lock:
        started = time.perf_counter()
        try:
            loaded = await asyncio.to_thread(_fresh, state.config, state.seeds_hash)
        except (_Failed, SeedError, IndexUnusable, OSError, sqlite3.Error) as exc:
            outcome = Reload(False, f"{KEPT}\n{exc}")
            log.warning("reload failed, previous index still serving: %s", exc)
            return outcome
        if loaded is None:
            log.info("reload: the seeds are unchanged, nothing to do")
            return Reload(True, "The seeds are unchanged; the index already serving is current.")
        state.engine = loaded.engine  # the swap: one assignment, between two awaits
        state.seeds_hash = loaded.seeds_hash
        message = _summary(loaded)
        log.info("%s (%.2f s)", message, time.perf_counter() - started)
        return Reload(True, message)
