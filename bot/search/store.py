"""The engine's analysis, kept in the index: written at build time, read back at load.

Tables (all in the index's SQLite file, beside the sentences they describe):

    keys                 id, name: the key table (a stem "p:fled", an alias group "alias:hts")
    analysis             per sentence id: its keys, context keys, concepts in order, label
    analysed_documents   per document: the words its sentences use, the aliases mined from it
    arrays               name, data: the packed postings and per-sentence columns the engine
                         maps in at start (SentencePostings.to_blobs), and the vocabulary

A build beside a previous index reuses the analysis of every document whose text is unchanged
and whose words no changed alias touches: adding an article analyses that article only. The
key table carries over so that reused rows keep meaning what they meant.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bot.search.analysis import Analyzer
from bot.search.annotate import Row, annotate, reread
from bot.search.candidates import SentencePostings
from bot.search.sentences import PackedSentence, pack

_D = TypeVar("_D")


@dataclass(frozen=True, slots=True)
class Group:
    """An alias or synonym group under the name its key is stored by."""

    name: str
    kind: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """A document as the build hands it over: its sentences with their ids, and whether its
    text is the same as when the previous index was built."""

    id: str
    rows: list[Row]
    unchanged: bool


@dataclass(slots=True)
class Previous:
    """What a previous index holds of its analysis, for a build to reuse."""

    conn: sqlite3.Connection
    key_ids: dict[str, int] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)

    @classmethod
    def open(cls, conn: sqlite3.Connection) -> Previous | None:
        """The previous analysis, or None when that index has none (or it cannot be read)."""
        try:
            key_ids = {name: i for i, name in conn.execute("select id, name from keys")}
            groups = read_groups(conn)
        except sqlite3.DatabaseError:
            return None
        return cls(conn, key_ids, groups)

    def sentences(self, document: str, rows: list[Row]) -> list[PackedSentence] | None:
        """A document's analysed sentences as stored, or None when they are not all there."""
        ids = [r.id for r in rows]
        try:
            stored = {
                r[0]: r[1:]
                for r in self.conn.execute(
                    f"select id, keys, context, sequence, flags from analysis "
                    f"where id in ({','.join('?' * len(ids))})",
                    ids,
                )
            }
        except sqlite3.DatabaseError:
            return None
        if len(stored) != len(ids):
            return None
        out = []
        for r in rows:
            keys, context, sequence, flags = stored[r.id]
            out.append(PackedSentence(
                r.id, document, r.paragraph, r.sentence, flags, keys, context, sequence,
            ))
        return out

    def words(self, document: str) -> Counter[str] | None:
        """A document's word counts as stored."""
        row = self._document(document)
        return Counter(json.loads(row[0])) if row else None

    def row(self, document: str) -> tuple[str, str, str] | None:
        """A document's stored words, mined groups and normalised sentences, as stored."""
        return self._document(document)

    def documents(self) -> set[str]:
        try:
            return {r[0] for r in self.conn.execute("select document from analysed_documents")}
        except sqlite3.DatabaseError:
            return set()

    def vocabulary(self) -> dict[str, int] | None:
        """The whole vocabulary as the previous build stored it."""
        try:
            row = self.conn.execute(
                "select data from arrays where name = 'vocabulary'"
            ).fetchone()
        except sqlite3.DatabaseError:
            return None
        return json.loads(row[0]) if row else None

    def mined(self, document: str) -> list[tuple[str, ...]] | None:
        """The alias groups mined from a document as stored."""
        row = self._document(document)
        return [tuple(g) for g in json.loads(row[1])] if row else None

    def norms(self, document: str) -> list[str] | None:
        """A document's sentences normalised (for cites) as stored."""
        row = self._document(document)
        return json.loads(row[2]) if row else None

    def _document(self, document: str) -> tuple[str, str, str] | None:
        try:
            return self.conn.execute(
                "select words, mined, norms from analysed_documents where document = ?",
                [document],
            ).fetchone()
        except sqlite3.DatabaseError:
            return None

    def postings(self) -> SentencePostings:
        """The previous build's postings, read in place (no texts)."""
        return _postings(self.conn, lambda sid: "")

    def touched(self, analyzer: Analyzer, index: SentencePostings | None = None) -> Touched:
        """What reading with `analyzer` (this build's groups) instead of the previous groups
        changes: the sentences holding a word of a phrase added, dropped or regrouped.
        `index`: the previous postings when already read."""
        before = reader(self.groups)
        old, new = before.phrase_names(), analyzer.phrase_names()
        changed = {st for st in old.keys() | new.keys() if old.get(st) != new.get(st)}
        if not changed:
            return Touched({}, before)
        stems = {s for st in changed for s in st}
        names = {"p:" + s for s in stems} | {"p:" + " ".join(st) for st in changed}
        for st, (group_names, _) in old.items():
            if stems.intersection(st):
                names |= group_names
        index = index if index is not None else self.postings()
        sentences: dict[str, set[int]] = {}
        for name in names:
            for sid in index.postings.get(self.key_ids.get(name, -1), ()):  # type: ignore[union-attr]
                sentences.setdefault(index.document_of(sid), set()).add(sid)
        return Touched(sentences, before)


@dataclass(frozen=True, slots=True)
class Touched:
    """The sentences (by document) an alias change makes read differently, and an analyzer
    that reads as the previous build did."""

    sentences: dict[str, set[int]]
    before: Analyzer


def reader(groups: Iterable[Group], key_ids: dict[str, int] | None = None) -> Analyzer:
    """An analyzer reading with these alias and synonym groups, on this key table."""
    analyzer = Analyzer(key_ids)
    for g in groups:
        analyzer.add_group(g.name, g.kind, g.terms)
    return analyzer


def read_groups(conn: sqlite3.Connection) -> list[Group]:
    rows = conn.execute("select name, kind, term from aliases order by grp, rank").fetchall()
    out: dict[str, Group] = {}
    for name, kind, term in rows:
        g = out.get(name)
        out[name] = Group(name, kind, (*g.terms, term)) if g else Group(name, kind, (term,))
    return list(out.values())


def analyse(
    conn: sqlite3.Connection,
    sources: Sequence[Source],
    groups: Sequence[Group],
    mined: dict[str, list[tuple[str, ...]]],
    norms: dict[str, list[str]],
    previous: Previous | None,
) -> list[str]:
    """Analyse the documents and write the analysis tables; returns the ids of the documents
    analysed anew (the others were reused from `previous`). `mined` (each document's mined
    alias groups) and `norms` (its normalised sentences, for cites) are kept for the next
    build."""
    analyzer = reader(groups, dict(previous.key_ids) if previous else None)
    touched = previous.touched(analyzer) if previous else None
    sentences: list[PackedSentence] = []
    documents: list[tuple[str, str, str, str]] = []
    fresh: dict[str, Counter[str]] = {}  # the documents read anew, and their words
    for src in sources:
        reused = row = None
        if previous and touched and src.unchanged:
            reused, row = previous.sentences(src.id, src.rows), previous.row(src.id)
            again = touched.sentences.get(src.id)
            if reused is not None and row is not None and again:
                reused, fresh[src.id] = reread(
                    analyzer, touched.before, src.rows, reused, again, Counter(json.loads(row[0]))
                )
                row = (json.dumps(fresh[src.id]), *row[1:])
        if reused is None or row is None:
            done = annotate(analyzer, src.id, src.rows)
            reused, fresh[src.id] = [pack(s) for s in done.sentences], done.words
            row = (json.dumps(done.words), json.dumps(mined.get(src.id, [])),
                   json.dumps(norms.get(src.id, [])))
        sentences += reused
        documents.append((src.id, *row))
    vocabulary = total_vocabulary(previous, {src.id for src in sources}, fresh)
    sentences.sort(key=lambda s: s.id)
    postings = SentencePostings()
    for s in sentences:
        postings.add_packed(s)
    postings.finish()
    _write(conn, analyzer, sentences, documents, postings, vocabulary)
    return list(fresh)


def total_vocabulary(
    previous: Previous | None, documents: set[str], fresh: dict[str, Counter[str]]
) -> dict[str, int]:
    """The words of all the documents and how often each occurs (the speller's vocabulary):
    the previous total, less what the documents gone or analysed anew had, plus what these
    have now; summed afresh when there is no previous total. Sorted, so that a build gives the
    same vocabulary whichever way it got there."""
    total: Counter[str] = Counter()
    stale = previous.vocabulary() if previous else None
    if stale is None or previous is None:
        for doc in documents - fresh.keys():  # reused, yet no total to start from
            total.update((previous.words(doc) if previous else None) or {})
    else:
        total.update(stale)
        for doc in previous.documents() - (documents - fresh.keys()):
            total.subtract(previous.words(doc) or {})
    for words in fresh.values():
        total.update(words)
    return {w: n for w, n in sorted(total.items()) if n > 0}


def mined_groups(
    documents: Mapping[str, _D],
    unchanged: set[str],
    mine: Callable[[_D], list[tuple[str, ...]]],
    previous: Previous | None,
) -> dict[str, list[tuple[str, ...]]]:
    """Each document's alias groups (`mine`), reused from the previous build for a document
    whose text is unchanged."""
    out = {}
    for doc_id, doc in documents.items():
        stored = previous.mined(doc_id) if previous and doc_id in unchanged else None
        out[doc_id] = stored if stored is not None else mine(doc)
    return out


def _write(
    conn: sqlite3.Connection,
    analyzer: Analyzer,
    sentences: list[PackedSentence],
    documents: list[tuple[str, str, str, str]],
    postings: SentencePostings,
    vocabulary: dict[str, int],
) -> None:
    conn.execute("create table keys (id integer primary key, name text not null)")
    conn.executemany("insert into keys values (?, ?)", analyzer.key_table())
    conn.execute(
        "create table analysis (id integer primary key, keys blob, context blob, "
        "sequence blob, flags integer)"
    )
    conn.executemany(
        "insert into analysis values (?, ?, ?, ?, ?)",
        (
            (s.id, s.keys, s.context, s.sequence, s.flags)
            for s in sentences
        ),
    )
    conn.execute(
        "create table analysed_documents "
        "(document text primary key, words text, mined text, norms text)"
    )
    conn.executemany("insert into analysed_documents values (?, ?, ?, ?)", documents)
    conn.execute("create table arrays (name text primary key, data blob)")
    blobs = postings.to_blobs()
    blobs["vocabulary"] = json.dumps(vocabulary).encode()
    conn.executemany("insert into arrays values (?, ?)", blobs.items())


@dataclass(slots=True)
class Loaded:
    """What the engine reads back: the key table, the postings, the vocabulary."""

    key_ids: dict[str, int]
    postings: SentencePostings
    vocabulary: dict[str, int]


def load(conn: sqlite3.Connection, text_of: Callable[[int], str]) -> Loaded:
    key_ids = {name: i for i, name in conn.execute("select id, name from keys")}
    (vocabulary,) = conn.execute("select data from arrays where name = 'vocabulary'").fetchone()
    return Loaded(key_ids, _postings(conn, text_of), json.loads(vocabulary))


def _postings(conn: sqlite3.Connection, text_of: Callable[[int], str]) -> SentencePostings:
    blobs = {
        name: bytes(data)
        for name, data in conn.execute("select name, data from arrays where name != 'vocabulary'")
    }
    return SentencePostings.from_blobs(blobs, text_of)
