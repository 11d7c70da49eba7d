"""Build and open the SQLite index with sqlite-utils: atomic rebuilds, staleness by content hash."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bot.english import english_level
from bot.ingest import AliasGroup, Document, FaqEntry, SeedError, Seeds, read_seeds, seed_files
from bot.mining import mine
from bot.text import normalise

log = logging.getLogger(__name__)

# Bump when the schema or the ingest rules change, so old indexes count as stale.
SCHEMA_VERSION = "5"


@dataclass(frozen=True, slots=True)
class IndexStatus:
    path: Path
    built: bool  # True when this call (re)built it
    warning: str = ""  # set when a rebuild failed and the previous index is still serving


def seeds_hash(seeds_dir: Path) -> str:
    h = hashlib.sha256(SCHEMA_VERSION.encode())
    for p in seed_files(seeds_dir):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
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


def resolve_cites(seeds: Seeds) -> dict[str, list[tuple[str, int, int]]]:
    """Map each FAQ id to the (document, paragraph, sentence) of each cite, or fail naming it.

    Every cite must resolve to exactly one sentence, and the cites of one entry to different
    sentences: two quotes of one sentence would show it twice in the answer.
    """
    sentences = [(d, s, normalise(s.text)) for d in seeds.documents for s in d.sentences]
    out: dict[str, list[tuple[str, int, int]]] = {}
    for entry in seeds.faq:
        refs: list[tuple[str, int, int]] = []
        for n, quote in enumerate(entry.cites):
            q = normalise(quote)
            hits = [(d, s) for d, s, norm in sentences if q and q in norm]
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


def _cite(entry: FaqEntry, n: int) -> str:
    """The n-th cite of an entry, quoted, with its line when known."""
    return f"cite {entry.cites[n]!r} (line {entry.cite_line(n)})"


_EMPTY_SCHEMAS: dict[str, dict[str, type]] = {
    "faq": {"id": str, "question": str, "answer": str, "source": str},
    "faq_phrasings": {"faq": str, "kind": str, "text": str},
    "faq_cites": {"faq": str, "rank": int, "sentence_id": int, "quote": str},
    "aliases": {"grp": int, "kind": str, "rank": int, "term": str},
}


def alias_groups(seeds: Seeds) -> list[AliasGroup]:
    """The curated groups, and the names the documents themselves give two ways (bot/mining.py).
    A mined group that shares a term with a curated one joins it: curated aliases add to what
    the documents say, and never have to repeat it."""
    groups = [AliasGroup(g.kind, tuple(g.terms)) for g in seeds.aliases]
    where = {t.casefold(): i for i, g in enumerate(groups) if g.kind == "alias" for t in g.terms}
    texts = ["\n\n".join(p.text for p in d.paragraphs) for d in seeds.documents]
    for mined in mine(texts, lambda w: english_level(w) == 2):
        known = next((where[t.casefold()] for t in mined.terms if t.casefold() in where), None)
        if known is None:
            groups.append(AliasGroup("alias", mined.terms))
            known = len(groups) - 1
        else:
            extra = tuple(t for t in mined.terms if t.casefold() not in where)
            groups[known] = AliasGroup("alias", groups[known].terms + extra)
        for t in mined.terms:
            where.setdefault(t.casefold(), known)
    return groups


def _write(db: sqlite_utils.Database, seeds: Seeds, digest: str) -> None:
    cites = resolve_cites(seeds)
    docs: list[Document] = seeds.documents
    with db.conn:
        db["meta"].insert_all(
            [{"key": "seeds_hash", "value": digest}, {"key": "schema", "value": SCHEMA_VERSION}],
            pk="key",
        )
        db["documents"].insert_all(
            [
                {
                    "id": d.id,
                    "path": d.path.name,
                    "title": d.title,
                    "publisher": d.publisher,
                    "date": d.date,
                    "language": d.language,
                    "url": d.url,
                }
                for d in docs
            ],
            pk="id",
        )
        db["paragraphs"].insert_all(
            [
                {
                    "document": d.id,
                    "paragraph": p.number,
                    "start": p.start,
                    "end": p.end,
                    "text": p.text,
                }
                for d in docs
                for p in d.paragraphs
            ],
            pk=("document", "paragraph"),
        )
        sid = 0
        rows = []
        for d in docs:
            for s in d.sentences:
                sid += 1
                rows.append(
                    {
                        "id": sid,
                        "document": d.id,
                        "paragraph": s.paragraph,
                        "sentence": s.number,
                        "start": s.start,
                        "end": s.end,
                        "text": s.text,
                    }
                )
        db["sentences"].insert_all(rows, pk="id")
        db["sentences"].create_index(["document", "paragraph", "sentence"], unique=True)
        sentence_id = {(r["document"], r["paragraph"], r["sentence"]): r["id"] for r in rows}
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
        db["aliases"].insert_all(
            [
                {"grp": g, "kind": group.kind, "rank": r, "term": term}
                for g, group in enumerate(alias_groups(seeds), start=1)
                for r, term in enumerate(group.terms)
            ],
        )
    for table, columns in _EMPTY_SCHEMAS.items():  # seeds without curated data still open
        if not db[table].exists():
            db[table].create(columns, pk="id" if "id" in columns else None)
    db["sentences"].enable_fts(["text"], tokenize="porter unicode61 remove_diacritics 2")
    db["faq_phrasings"].enable_fts(["text"], tokenize="porter unicode61 remove_diacritics 2")


def build(seeds_dir: Path, db_path: Path) -> Path:
    """Build the index into a temporary file beside the target, then rename it into place."""
    seeds = read_seeds(seeds_dir)
    digest = seeds_hash(seeds_dir)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".tmp", dir=db_path.parent)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            _write(sqlite_utils.Database(conn), seeds, digest)
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, db_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return db_path


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
        build(seeds_dir, db_path)
    except SeedError as exc:
        if stored_hash(db_path):
            log.warning("index rebuild failed, previous index still serving: %s", exc)
            return IndexStatus(db_path, False, f"rebuild failed, previous index kept: {exc}")
        raise
    return IndexStatus(db_path, True)
