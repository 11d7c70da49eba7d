"""The stored analysis brought up to date in place, for a build that adds, changes or removes a
few documents of a large library (store.analyse writes it all anew instead).

The index file is a copy of the previous one; only the rows of the documents gone, come or
re-read change, and the postings are merged (merge.py), not inverted again. What a full build
would write and this leaves as it was: nothing; tests/test_incremental.py holds the two equal.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence

from bot.search.annotate import Row, annotate, reread
from bot.search.merge import merged
from bot.search.sentences import PackedSentence, pack
from bot.search.store import Group, Previous, Source, reader, total_vocabulary


class Unusable(Exception):
    """The previous analysis lacks what an update needs: build it all anew."""


def update(
    conn: sqlite3.Connection,
    previous: Previous,
    sources: Sequence[Source],
    gone: set[str],
    documents: set[str],
    groups: Sequence[Group],
    mined: dict[str, list[tuple[str, ...]]],
    norms: dict[str, list[str]],
) -> list[str]:
    """Update the analysis tables in `conn` (a copy of the previous index): the documents
    `gone` taken out, the new ones (`sources`) analysed, the unchanged ones an alias change
    touches re-read. `documents`: every document now in the library. Returns the ids of the
    documents analysed anew, as store.analyse does."""
    analyzer = reader(groups, dict(previous.key_ids))
    old = previous.postings()
    touched = previous.touched(analyzer, old)
    gone_ids = [r[0] for d in sorted(gone) for r in _ids(previous.conn, d)]
    come: list[PackedSentence] = []
    fresh: dict[str, Counter[str]] = {}
    rows: list[tuple[str, str, str, str]] = []
    for doc, again in sorted(touched.sentences.items()):
        if doc in gone or doc not in documents:
            continue
        texts = _rows(previous.conn, doc)
        stored, row = previous.sentences(doc, texts), previous.row(doc)
        if stored is None or row is None:
            raise Unusable(f"no stored analysis of {doc}")
        packed, fresh[doc] = reread(
            analyzer, touched.before, texts, stored, again, Counter(json.loads(row[0]))
        )
        come += packed
        gone_ids += [r.id for r in texts]
        rows.append((doc, json.dumps(fresh[doc]), row[1], row[2]))
    for src in sources:
        done = annotate(analyzer, src.id, src.rows)
        come += [pack(s) for s in done.sentences]
        fresh[src.id] = done.words
        rows.append((src.id, json.dumps(done.words), json.dumps(mined.get(src.id, [])),
                     json.dumps(norms.get(src.id, []))))
    postings = merged(old, _analysis(previous.conn, gone_ids), come)
    vocabulary = total_vocabulary(previous, documents, fresh)
    conn.execute("delete from analysis where id in (select value from json_each(?))",
                 [json.dumps(gone_ids)])
    conn.executemany("insert into analysis values (?, ?, ?, ?, ?)",
                     ((s.id, s.keys, s.context, s.sequence, s.flags) for s in come))
    conn.execute("delete from analysed_documents where document in "
                 "(select value from json_each(?))", [json.dumps(sorted(gone | fresh.keys()))])
    conn.executemany("insert into analysed_documents values (?, ?, ?, ?)", rows)
    known = set(previous.key_ids.values())
    conn.executemany("insert into keys values (?, ?)",
                     ((i, name) for i, name in analyzer.key_table() if i not in known))
    blobs = postings.to_blobs()
    blobs["vocabulary"] = json.dumps(vocabulary).encode()
    conn.execute("delete from arrays")
    conn.executemany("insert into arrays values (?, ?)", blobs.items())
    return sorted(fresh)


def _ids(conn: sqlite3.Connection, document: str) -> list[tuple[int]]:
    return conn.execute("select id from sentences where document = ?", [document]).fetchall()


def _rows(conn: sqlite3.Connection, document: str) -> list[Row]:
    return [
        Row(*r)
        for r in conn.execute(
            "select id, paragraph, sentence, text from sentences where document = ? order by id",
            [document],
        )
    ]


def _analysis(conn: sqlite3.Connection, ids: list[int]) -> dict[int, tuple[bytes, bytes]]:
    """The keys and context keys the sentences were stored with."""
    out = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "select id, keys, context from analysis where id in (select value from json_each(?))",
            [json.dumps(ids)],
        )
    }
    if len(out) != len(set(ids)):
        raise Unusable("sentences without stored analysis")
    return out
