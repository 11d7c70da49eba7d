"""Build and open the SQLite index with sqlite-utils: atomic rebuilds, staleness by content hash.

Builds are incremental: each document's content hash is stored in `documents.hash`, and a build
beside a previous index of the same SCHEMA_VERSION takes the paragraphs and sentences of every
unchanged document from it instead of splitting them again (pysbd is most of a build's time).
What depends on the whole corpus (FAQ cites, mined aliases, the FTS tables) is recomputed.
Sentence ids are stable: an unchanged document keeps its ids, a new or changed one gets fresh
ids above any ever given (kept in meta `next_sentence_id`), so an id is never reused for another
sentence and a "Context" button sent before a reload still points at its sentence. `--force`
(build(force=True)) splits everything again and numbers the sentences from 1 in file order.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.util
import itertools
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.english import english_level
from bot.ingest import (
    AliasGroup,
    Document,
    FaqEntry,
    Paragraph,
    SeedError,
    Seeds,
    Sentence,
    is_curated,
    read_seeds,
    seed_files,
)
from bot.mining import MinedGroup, found_in, merge
from bot.search import store
from bot.search.annotate import Row
from bot.search.store import Group
from bot.text import normalise

log = logging.getLogger(__name__)

# Bump when the schema changes, so old indexes count as stale. A change to the code that
# decides what the index holds (splitting, mining, analysis) makes them stale by itself: its
# source is part of the version (version()), so no reused row was made by other rules.
SCHEMA_VERSION = "7"
_RULES = ("bot.text", "bot.ingest", "bot.mining", "bot.english", "bot.search.analysis",
          "bot.search.annotate", "bot.search.sentences", "bot.search.packed", "bot.search.store",
          "bot.search.candidates", "bot.search.merge", "bot.search.delta", "bot.update")


@lru_cache(maxsize=1)
def version() -> str:
    """SCHEMA_VERSION and a digest of the rules' source: what an index was built by."""
    h = hashlib.sha256(SCHEMA_VERSION.encode())
    for name in _RULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            h.update(Path(spec.origin).read_bytes())
    return f"{SCHEMA_VERSION}-{h.hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class IndexStatus:
    path: Path
    built: bool  # True when this call (re)built it
    warning: str = ""  # set when a rebuild failed and the previous index is still serving


def seeds_hash(seeds_dir: Path) -> str:
    h = hashlib.sha256(version().encode())
    for p in seed_files(seeds_dir):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def curated_hash(seeds_dir: Path) -> str:
    """The hash of the FAQ and alias files alone: whether the editor's data changed."""
    h = hashlib.sha256(SCHEMA_VERSION.encode())
    for p in seed_files(seeds_dir):
        if is_curated(p):
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def stored_hash(db_path: Path) -> str | None:
    """The hash the index was built from, or None when it is missing or unreadable."""
    if not db_path.exists():
        return None
    try:
        db = sqlite_utils.Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
        try:
            rows = list(db.query("select value from meta where key = 'seeds_hash'"))
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None
    return rows[0]["value"] if rows else None


def resolve_cites(
    seeds: Seeds, norms: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[str, int, int]]]:
    """Map each FAQ id to the (document, paragraph, sentence) of each cite, or fail naming it.

    Every cite must resolve to exactly one sentence, and the cites of one entry to different
    sentences: two quotes of one sentence would show it twice in the answer.
    """
    find = cite_finder(seeds, norms if norms is not None else normalised(seeds))
    out: dict[str, list[tuple[str, int, int]]] = {}
    for entry in seeds.faq:
        refs: list[tuple[str, int, int]] = []
        for n, quote in enumerate(entry.cites):
            hits = find(normalise(quote))
            if len(hits) != 1:
                problem = "matches no sentence" if not hits else f"matches {len(hits)} sentences"
                raise SeedError(
                    entry.path, entry.line, f"FAQ entry {entry.id!r}: cite {quote!r} {problem}"
                )
            d, s = hits[0]
            ref = (d.id, s.paragraph, s.number)
            if ref in refs:
                first = refs.index(ref)
                raise SeedError(
                    entry.path,
                    entry.cite_line(n),
                    f"FAQ entry {entry.id!r}: {_cite(entry, first)} and {_cite(entry, n)} quote "
                    f"the same sentence ({d.id}, paragraph {s.paragraph}, sentence {s.number}); "
                    "keep one",
                )
            refs.append(ref)
        out[entry.id] = refs
    return out


_SEP = "\0"


def normalised(
    seeds: Seeds, known: Callable[[str], list[str] | None] = lambda doc: None
) -> dict[str, list[str]]:
    """Each document's sentences normalised, as cites are matched against them; `known` gives
    them for a document whose text is unchanged (an incremental build keeps them)."""
    out: dict[str, list[str]] = {}
    todo: list[Document] = []
    for d in seeds.documents:
        kept = known(d.id) if not d.split else None
        if kept is not None and len(kept) == len(d.sentences):
            out[d.id] = kept
        else:
            todo.append(d)
    texts = [s.text for d in todo for s in d.sentences]
    norms: list[str] = []
    if not any(_SEP in t for t in texts):
        # One call for all: normalise() works within runs of characters that NUL breaks, and
        # the pieces are stripped as it strips them.
        norms = [n.strip() for n in normalise(_SEP.join(texts)).split(_SEP)]
    if len(norms) != len(texts):
        norms = [normalise(t) for t in texts]
    at = 0
    for d in todo:
        out[d.id] = norms[at : at + len(d.sentences)]
        at += len(d.sentences)
    return out


def cite_finder(
    seeds: Seeds, norms_of: dict[str, list[str]]
) -> Callable[[str], list[tuple[Document, Sentence]]]:
    """A function giving every sentence whose normalised text holds a normalised quote.

    Why not test each sentence in turn: at 100,000 sentences that took most of an incremental
    build. The normalised sentences are joined by NUL into one string and each quote is found
    with str.find, once per sentence at most. Texts holding a NUL take the slow way.
    """
    pairs = [(d, s) for d in seeds.documents for s in d.sentences]
    norms = [n for d in seeds.documents for n in norms_of[d.id]]
    slow = any(_SEP in n for n in norms)
    corpus = _SEP.join(norms)
    starts = list(itertools.accumulate((len(n) + 1 for n in norms), initial=0))

    def find(q: str) -> list[tuple[Document, Sentence]]:
        if not q:
            return []
        if slow or _SEP in q:
            return [pair for pair, norm in zip(pairs, norms, strict=True) if q in norm]
        hits = []
        at = corpus.find(q)
        while at >= 0:
            i = bisect.bisect_right(starts, at) - 1
            hits.append(pairs[i])
            at = corpus.find(q, starts[i + 1])
        return hits

    return find


def _cite(entry: FaqEntry, n: int) -> str:
    """The n-th cite of an entry, quoted, with its line when known."""
    return f"cite {entry.cites[n]!r} (line {entry.cite_line(n)})"


@dataclass(slots=True)
class _Previous:
    """A previous index of this schema, read for the splits of unchanged documents.

    `stored` is handed to read_seeds: it answers for a document whose id and content hash match
    a row of the old index, and notes the ids its sentences had so that they keep them.
    """

    db: sqlite_utils.Database
    hashes: dict[str, str]  # document id -> content hash
    next_id: int  # the first sentence id never given
    curated: str = ""  # the hash of the FAQ and alias files it was built from
    ids: dict[str, list[int]] = field(default_factory=dict)  # carried document -> sentence ids
    broken: bool = False  # reading it failed half way: build afresh

    def unchanged(self, doc_id: str, digest: str) -> tuple[list[Paragraph], list[Sentence]] | None:
        """For a patch (bot/update.py): an unchanged document comes with no paragraphs or
        sentences, its rows staying where they are in the index; None when it changed."""
        return ([], []) if self.hashes.get(doc_id) == digest else None

    def stored(self, doc_id: str, digest: str) -> tuple[list[Paragraph], list[Sentence]] | None:
        if self.broken or self.hashes.get(doc_id) != digest:
            return None
        try:
            paragraphs = [
                Paragraph(r[0], r[1], r[2], r[3])
                for r in self.db.execute(
                    "select paragraph, start, end, text from paragraphs where document = ? "
                    "order by paragraph",
                    [doc_id],
                )
            ]
            rows = self.db.execute(
                "select id, paragraph, sentence, start, end, text from sentences "
                "where document = ? order by id",
                [doc_id],
            ).fetchall()
        except sqlite3.DatabaseError:
            self.broken = True
            return None
        if not paragraphs or not rows:
            return None
        self.ids[doc_id] = [r[0] for r in rows]
        return paragraphs, [Sentence(r[1], r[2], r[3], r[4], r[5]) for r in rows]


def _open_previous(db_path: Path) -> _Previous | None:
    """The index at db_path when it can serve unchanged documents (same schema), else None."""
    if not db_path.exists():
        return None
    try:
        db = sqlite_utils.Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
    except sqlite3.DatabaseError:
        return None
    try:
        meta = {r[0]: r[1] for r in db.execute("select key, value from meta")}
        if meta.get("schema") != version():
            db.close()
            return None
        hashes = {r[0]: r[1] for r in db.execute("select id, hash from documents")}
        top = db.execute("select max(id) from sentences").fetchone()[0] or 0
        next_id = max(int(meta.get("next_sentence_id", 0)), top + 1)
    except (sqlite3.DatabaseError, ValueError):
        db.close()
        return None
    return _Previous(db, hashes, next_id, meta.get("curated_hash", ""))


def sentence_ids(
    documents: list[Document], previous: _Previous | None
) -> tuple[dict[str, list[int]], int]:
    """Each document's sentence ids, and the next id never given: a document carried over keeps
    its ids; a new or changed one gets a fresh run above every id the previous index gave."""
    carried = previous.ids if previous is not None else {}
    next_id = previous.next_id if previous is not None else 1
    out: dict[str, list[int]] = {}
    for d in documents:
        if not d.split and d.id in carried and len(carried[d.id]) == len(d.sentences):
            out[d.id] = carried[d.id]
        else:
            out[d.id] = list(range(next_id, next_id + len(d.sentences)))
            next_id += len(d.sentences)
    return out, next_id


_EMPTY_SCHEMAS: dict[str, dict[str, type]] = {
    "faq": {"id": str, "question": str, "answer": str, "source": str},
    "faq_phrasings": {"faq": str, "kind": str, "text": str},
    "faq_cites": {"faq": str, "rank": int, "sentence_id": int, "quote": str},
    "aliases": {"grp": int, "name": str, "kind": str, "rank": int, "term": str},
}


def mined_in(document: Document) -> list[tuple[str, ...]]:
    """The alias groups a document's own text gives (bot/mining.py), unmerged."""
    text = "\n\n".join(p.text for p in document.paragraphs)
    return [g.terms for g in found_in(text, lambda w: english_level(w) == 2)]


def alias_groups(
    seeds: Seeds, mined: dict[str, list[tuple[str, ...]]] | None = None
) -> list[Group]:
    """The curated groups, and the names the documents themselves give two ways (bot/mining.py).
    A mined group that shares a term with a curated one joins it: curated aliases add to what
    the documents say, and never have to repeat it. `mined`: each document's groups when known
    (an incremental build keeps them), else mined here.

    Each group is named by its kind and first term, not by its place in the list: a build
    that adds an article then leaves the other groups' names, and so the analysis of the
    documents they occur in, as they were."""
    if mined is None:
        mined = {d.id: mined_in(d) for d in seeds.documents}
    groups = [AliasGroup(g.kind, tuple(g.terms)) for g in seeds.aliases]
    where = {t.casefold(): i for i, g in enumerate(groups) if g.kind == "alias" for t in g.terms}
    found = merge(MinedGroup(terms, "") for d in seeds.documents for terms in mined.get(d.id, ()))
    for group in found:
        known = next((where[t.casefold()] for t in group.terms if t.casefold() in where), None)
        if known is None:
            groups.append(AliasGroup("alias", group.terms))
            known = len(groups) - 1
        else:
            extra = tuple(t for t in group.terms if t.casefold() not in where)
            groups[known] = AliasGroup("alias", groups[known].terms + extra)
        for t in group.terms:
            where.setdefault(t.casefold(), known)
    named: list[Group] = []
    taken: set[str] = set()
    for g in groups:
        base = name = f"{g.kind}:{g.terms[0].casefold()}"
        n = 1
        while name in taken:
            n += 1
            name = f"{base}#{n}"
        taken.add(name)
        named.append(Group(name, g.kind, g.terms))
    return named


def document_row(d: Document) -> dict[str, Any]:
    """A document's row of the `documents` table."""
    return {"id": d.id, "path": d.path.name, "title": d.title, "publisher": d.publisher,
            "date": d.date, "language": d.language, "url": d.url, "hash": d.hash,
            "paragraphs": len(d.paragraphs), "sentences": len(d.sentences)}


def paragraph_rows(docs: list[Document]) -> Iterator[tuple[str, int, int, int, str]]:
    """The rows of the `paragraphs` table: document, paragraph, start, end, text."""
    return ((d.id, p.number, p.start, p.end, p.text) for d in docs for p in d.paragraphs)


def sentence_rows(
    docs: list[Document], ids: dict[str, list[int]]
) -> Iterator[tuple[int, str, int, int, int, int, str]]:
    """The rows of the `sentences` table: id, document, paragraph, sentence, start, end, text."""
    return (
        (sid, d.id, s.paragraph, s.number, s.start, s.end, s.text)
        for d in docs
        for sid, s in zip(ids[d.id], d.sentences, strict=True)
    )


def _write(
    db: sqlite_utils.Database,
    seeds: Seeds,
    digest: str,
    ids: dict[str, list[int]] | None = None,
    next_id: int | None = None,
    previous: store.Previous | None = None,
) -> list[str]:
    """Write the index; `ids` gives each document's sentence ids (default: 1, 2, ... in order).
    Returns the ids of the documents analysed anew; the others' analysis came from `previous`."""
    norms = normalised(seeds, previous.norms if previous else lambda doc: None)
    cites = resolve_cites(seeds, norms)
    docs: list[Document] = seeds.documents
    if ids is None:
        ids, next_id = sentence_ids(docs, None)
    with db.conn:
        db["meta"].insert_all(
            [
                {"key": "seeds_hash", "value": digest},
                {"key": "schema", "value": version()},
                {"key": "next_sentence_id", "value": str(next_id)},
            ],
            pk="key",
        )
        db["documents"].insert_all([document_row(d) for d in docs], pk="id")
        # The two big tables by plain executemany: sqlite-utils' insert_all spent more than a
        # second per 100,000 rows on type checks, most of an incremental build.
        span = {"start": int, "end": int, "text": str}
        db["paragraphs"].create(
            {"document": str, "paragraph": int, **span}, pk=("document", "paragraph")
        )
        db.conn.executemany("insert into paragraphs values (?, ?, ?, ?, ?)", paragraph_rows(docs))
        rows = sorted(sentence_rows(docs, ids))
        db["sentences"].create(
            {"id": int, "document": str, "paragraph": int, "sentence": int, **span}, pk="id"
        )
        db.conn.executemany("insert into sentences values (?, ?, ?, ?, ?, ?, ?)", rows)
        db["sentences"].create_index(["document", "paragraph", "sentence"], unique=True)
        sentence_id = {(r[1], r[2], r[3]): r[0] for r in rows}
        entries: list[FaqEntry] = seeds.faq
        db["faq"].insert_all(
            [
                {"id": e.id, "question": e.question, "answer": e.answer, "source": e.path}
                for e in entries
            ],
            pk="id",
        )
        texts = [(e.id, "question", e.question) for e in entries] + [
            (e.id, "phrasing", p) for e in entries for p in e.phrasings
        ]
        db["faq_phrasings"].insert_all(
            [{"faq": fid, "kind": kind, "text": text} for fid, kind, text in texts]
        )
        db["faq_cites"].insert_all(
            [
                {"faq": e.id, "rank": i, "sentence_id": sentence_id[ref], "quote": e.cites[i]}
                for e in entries
                for i, ref in enumerate(cites[e.id])
            ],
        )
        unchanged = {d.id for d in docs if not d.split}
        mined = store.mined_groups({d.id: d for d in docs}, unchanged, mined_in, previous)
        groups = alias_groups(seeds, mined)
        db["aliases"].insert_all(
            [
                {"grp": g, "name": group.name, "kind": group.kind, "rank": r, "term": term}
                for g, group in enumerate(groups, start=1)
                for r, term in enumerate(group.terms)
            ],
        )
        sources = [
            store.Source(
                d.id,
                [Row(sid, s.paragraph, s.number, s.text)
                 for sid, s in zip(ids[d.id], d.sentences, strict=True)],
                unchanged=d.id in unchanged,
            )
            for d in docs
        ]
        fresh = store.analyse(db.conn, sources, groups, mined, norms, previous)
    for table, columns in _EMPTY_SCHEMAS.items():  # seeds without curated data still open
        if not db[table].exists():
            db[table].create(columns, pk="id" if "id" in columns else None)
    db["sentences"].enable_fts(["text"], tokenize="porter unicode61 remove_diacritics 2")
    db["faq_phrasings"].enable_fts(["text"], tokenize="porter unicode61 remove_diacritics 2")
    return fresh


def build(seeds_dir: Path, db_path: Path, force: bool = False) -> Path:
    """Build the index into a temporary file beside the target, then rename it into place.

    Unless `force`, the documents unchanged since the index at db_path was built are taken from
    it rather than split again, and their analysis too unless an alias change touches their
    words; the rest (new and changed documents, FAQ, aliases) is done anew. Which documents
    were split and analysed is kept in meta `last_build` (last_build()).
    """
    previous = None if force else _open_previous(db_path)
    if previous is not None:
        from bot.update import patch  # it uses this module's helpers

        try:
            patched = patch(seeds_dir, db_path, previous)
        except BaseException:
            previous.db.close()
            raise
        if patched:
            previous.db.close()
            return db_path
    seeds, previous = _read(seeds_dir, previous)
    try:
        ids, next_id = sentence_ids(seeds.documents, previous)
        split = [d.id for d in seeds.documents if d.split]
        digest = seeds_hash(seeds_dir)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".tmp", dir=db_path.parent)
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp)
            try:
                db = sqlite_utils.Database(conn)
                reuse = store.Previous.open(previous.db.conn) if previous else None
                analysed = _write(db, seeds, digest, ids, next_id, reuse)
                curated = curated_hash(seeds_dir)
                changed = previous is None or previous.curated != curated
                db["meta"].insert_all(
                    [
                        {"key": "curated_hash", "value": curated},
                        {"key": "last_build",
                         "value": json.dumps({"split": split, "analysed": analysed,
                                              "curated_changed": changed, "how": "built"})},
                    ],
                    pk="key",
                )
                conn.commit()
            finally:
                conn.close()
            os.replace(tmp, db_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    finally:
        if previous is not None:
            previous.db.close()
    log.debug(
        "index: %d of %d documents split, %d analysed",
        len(split), len(seeds.documents), len(analysed),
    )
    return db_path


def last_build(db_path: Path) -> dict[str, Any]:
    """The documents the build of this index split and analysed (the others were reused), and
    whether the FAQ or aliases had changed since the index it was built beside."""
    db = sqlite_utils.Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
    try:
        rows = list(db.query("select value from meta where key = 'last_build'"))
    finally:
        db.close()
    if not rows:
        return {"split": [], "analysed": [], "curated_changed": True}
    return json.loads(rows[0]["value"])


def read_indexed_seeds(seeds_dir: Path, db_path: Path) -> Seeds:
    """The seeds as read_seeds reads them, every document unchanged since the index at db_path
    was built taken from it: for what reads the seeds just after a build (the FAQ lint), which
    would otherwise split the whole library again."""
    seeds, previous = _read(seeds_dir, _open_previous(db_path))
    if previous is not None:
        previous.db.close()
    return seeds


def _read(seeds_dir: Path, previous: _Previous | None) -> tuple[Seeds, _Previous | None]:
    """The seeds, unchanged documents from `previous`; and `previous` (still open, for its
    analysis), None when it was not used (absent, or it failed half way and everything was
    read afresh)."""
    if previous is None:
        return read_seeds(seeds_dir), None
    try:
        seeds = read_seeds(seeds_dir, previous.stored)
    except BaseException:
        previous.db.close()
        raise
    if previous.broken:
        previous.db.close()
        return read_seeds(seeds_dir), None
    return seeds, previous


def ensure(seeds_dir: Path, db_path: Path, force: bool = False) -> IndexStatus:
    """Use the index if it matches the seeds, else rebuild; a failed rebuild keeps the old one."""
    try:
        digest = seeds_hash(seeds_dir)
    except (SeedError, OSError) as exc:
        if stored_hash(db_path):
            return IndexStatus(db_path, False, f"cannot read seeds ({exc}); serving the old index")
        raise
    if not force and stored_hash(db_path) == digest:
        return IndexStatus(db_path, False)
    try:
        build(seeds_dir, db_path, force=force)
    except SeedError as exc:
        if stored_hash(db_path):
            log.warning("index rebuild failed, previous index still serving: %s", exc)
            return IndexStatus(db_path, False, f"rebuild failed, previous index kept: {exc}")
        raise
    return IndexStatus(db_path, True)
