"""An index brought up to date by patching a copy of it, when a few documents came, changed or
went and the FAQ and aliases did not change: what a newsroom's daily article costs.

Why not the full build: that writes every sentence, paragraph, analysis row and the full-text
index anew and inverts every sentence's keys (about 5 s at 100,000 sentences). Here the previous
index file is copied, the rows of the documents gone are deleted and the new ones inserted, the
full-text index is told of both, and the postings are merged (bot/search/delta.py). Unchanged
documents are not even read from the index. The result holds what a full build of the same seeds
holds (tests/test_incremental.py), and, as a full build does, it is renamed into place only
when complete.

When an update cannot be done safely it says so (returns None) and the full build runs: the FAQ
or aliases changed (the cites and lint are then checked against everything), a cited document
changed or went, a new document holds a cite's quote (it may make the cite ambiguous), or the
previous index lacks stored analysis.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bot.ingest import Document, Seeds, read_seeds
from bot.search import store
from bot.search.annotate import Row
from bot.search.delta import Unusable, update
from bot.text import normalise

if TYPE_CHECKING:
    from bot.index import _Previous

log = logging.getLogger(__name__)


def patch(seeds_dir: Path, db_path: Path, previous: _Previous) -> bool:
    """Bring the index at db_path up to date with the seeds by patching a copy of it; False
    when this change needs a full build (nothing written then)."""
    from bot import index  # index.build calls this: imported here, not at the top

    seeds = read_seeds(seeds_dir, previous.unchanged)
    if index.curated_hash(seeds_dir) != previous.curated:
        return False
    now = {d.id for d in seeds.documents}
    new = [d for d in seeds.documents if d.split]
    gone = (previous.hashes.keys() - now) | {d.id for d in new if d.id in previous.hashes}
    if _cited(previous.db.conn) & gone:
        return False
    added = Seeds(new, seeds.faq, [])
    norms = index.normalised(added)
    find = index.cite_finder(added, norms)
    if any(find(normalise(q)) for e in seeds.faq for q in e.cites):
        return False
    reuse = store.Previous.open(previous.db.conn)
    if reuse is None:
        return False
    ids, next_id = index.sentence_ids(new, previous)
    mined = _stored_mined(previous.db.conn, now - {d.id for d in new})
    if mined is None:
        return False
    mined |= {d.id: index.mined_in(d) for d in new}
    groups = index.alias_groups(seeds, mined)
    fd, tmp = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".tmp", dir=db_path.parent)
    os.close(fd)
    try:
        shutil.copyfile(db_path, tmp)
        conn = sqlite3.connect(tmp)
        try:
            with conn:
                _remove(conn, gone)
                _insert(conn, new, ids)
                conn.execute("delete from aliases")
                conn.executemany(
                    "insert into aliases (grp, name, kind, rank, term) values (?, ?, ?, ?, ?)",
                    ((g, group.name, group.kind, r, term)
                     for g, group in enumerate(groups, start=1)
                     for r, term in enumerate(group.terms)),
                )
                sources = [
                    store.Source(d.id, [Row(sid, s.paragraph, s.number, s.text)
                                        for sid, s in zip(ids[d.id], d.sentences, strict=True)],
                                 unchanged=False)
                    for d in new
                ]
                analysed = update(conn, reuse, sources, gone, now, groups, mined, norms)
                conn.executemany(
                    "insert or replace into meta (key, value) values (?, ?)",
                    [
                        ("seeds_hash", index.seeds_hash(seeds_dir)),
                        ("next_sentence_id", str(next_id)),
                        ("last_build", json.dumps({
                            "split": [d.id for d in new], "analysed": analysed,
                            "curated_changed": False, "how": "patched"})),
                    ],
                )
        finally:
            conn.close()
        os.replace(tmp, db_path)
    except Unusable as exc:
        log.info("index: cannot patch (%s), building it whole", exc)
        Path(tmp).unlink(missing_ok=True)
        return False
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.debug("index patched: %d documents split, %d gone, %d analysed",
              len(new), len(gone), len(analysed))
    return True


def _cited(conn: sqlite3.Connection) -> set[str]:
    """The documents the FAQ cites quote."""
    return {
        r[0]
        for r in conn.execute(
            "select distinct s.document from faq_cites c join sentences s on s.id = c.sentence_id"
        )
    }


def _stored_mined(conn: sqlite3.Connection, documents: set[str]) -> dict[str, list] | None:
    """The alias groups mined from each document, as the previous build stored them."""
    out = {
        doc: [tuple(g) for g in json.loads(m)]
        for doc, m in conn.execute("select document, mined from analysed_documents")
        if doc in documents
    }
    return out if out.keys() == documents else None


def _remove(conn: sqlite3.Connection, gone: set[str]) -> None:
    """The documents' rows out, the full-text index told first (it holds no text of its own)."""
    if not gone:
        return
    docs = json.dumps(sorted(gone))
    inside = "(select value from json_each(?))"
    conn.execute(
        "insert into sentences_fts (sentences_fts, rowid, text) "
        f"select 'delete', id, text from sentences where document in {inside}", [docs],
    )
    for table, column in (("sentences", "document"), ("paragraphs", "document"),
                          ("documents", "id")):
        conn.execute(f"delete from {table} where {column} in {inside}", [docs])


def _insert(conn: sqlite3.Connection, new: list[Document], ids: dict[str, list[int]]) -> None:
    from bot import index

    rows = [tuple(index.document_row(d).values()) for d in new]
    conn.executemany("insert into documents values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("insert into paragraphs values (?, ?, ?, ?, ?)", index.paragraph_rows(new))
    sentences = list(index.sentence_rows(new, ids))
    conn.executemany("insert into sentences values (?, ?, ?, ?, ?, ?, ?)", sentences)
    conn.executemany("insert into sentences_fts (rowid, text) values (?, ?)",
                     ((r[0], r[6]) for r in sentences))
