"""`python -m bot faq suggest`: proposals for the FAQ, from what people asked (the question log).

Three kinds, each saying where it came from, for the editor to review and then merge with
`python -m bot faq apply FILE`:

- New phrasings for existing entries. A question is proposed for an entry when
  - the bot refused it and the person tapped that entry's suggestion button (a `links` row,
    see bot.questionlog), unless the answer the tap sent got a 👎;
  - the entry led its answer and the answer got a 👍 (read from `feedback`, no link rows);
  - the entry led its answer but the question is far from every phrasing of the entry:
    `fuzz.token_set_ratio` of the normalised texts (bot.report.normalise) below FAR_CUTOFF.
  A question whose FAQ-led answer got a 👎, or whose tap led to an answer that got one, is never
  proposed for that entry (however else it was linked).
- Draft entries for clusters of unanswered questions (grouped as the report groups them) that
  the document does answer: the engine, asked again with its threshold at 0, answers some
  wording of the cluster with a confidence of at least SCOPE_FLOOR. The most asked wording is the
  `question`, the others its `phrasings`, the engine's best sentences for them its `cites`
  (verbatim), `answer = ""` and `draft = true`: the index build refuses the entry until the
  editor writes an answer the cites support and removes the mark.
- Nothing for the other clusters: they are listed as comments, "out of scope, asked N times".

Every proposal is counted in questions (rows of the log); `min_count` drops the rarer ones.
Questions whose text was not stored (`store_questions = false`) are counted but cannot be
proposed. The logic returns plain objects (`suggest`); `format_toml` and `format_json` print them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
from rapidfuzz import fuzz, process
from sqlite_utils import Database
from tomlkit.items import Array, Table

from bot import report
from bot.ingest import FaqEntry, _is_faq, read_faq, seed_files

if TYPE_CHECKING:
    from bot.config import Config
    from bot.search import Engine

MIN_COUNT = 2
# Below this token_set_ratio against every phrasing of the entry that answered it, a question is
# "far": on seeds/faq.toml a quarter of the curated phrasings are this far (leave-one-out, 25th
# percentile 71) from their nearest sibling, so such a wording adds what the entry lacked; of the
# test sets' FAQ-led answers about one in ten are below it.
FAR_CUTOFF = 70.0
# At threshold 0 the engine still answers almost anything with some sentence; below this
# confidence a cluster is out of scope. On the project's question sets (tests/data), of the
# questions the bot refuses (confidence below 0.4), 30 of 32 out-of-scope ones are below 0.2 and
# 4 of 6 answerable ones above it: a wrong draft costs the editor a look, a missed one a gap.
SCOPE_FLOOR = 0.2
MAX_CITES = 2
CITE_SHARE = 0.6  # a second cite must score at least this share of the best one
MAX_EXAMPLES = 3
ID_CHARS = 40

SOURCE_TEXT = {
    "button": "tapped its suggestion after a refusal",
    "up": "👍 on its answer",
    "far": "it answered, far from its phrasings",
}


@dataclass(frozen=True, slots=True)
class PhrasingProposal:
    """A wording to add to an existing entry, and why."""

    faq_id: str
    phrasing: str
    count: int  # questions (log rows) behind it
    sources: tuple[str, ...]  # keys of SOURCE_TEXT
    examples: tuple[str, ...] = ()  # other wordings of it as asked
    closeness: float | None = None  # best token_set_ratio against the entry (for "far")
    also: tuple[tuple[str, int], ...] = ()  # other entries it was linked to, with counts

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class DraftProposal:
    """A new entry for a cluster of unanswered questions that the document answers."""

    id: str
    question: str
    phrasings: tuple[str, ...]
    cites: tuple[str, ...]
    count: int
    confidence: float  # the best of the cluster's wordings, asked at threshold 0
    nearest_faq: str | None = None  # an entry that led the engine's answer at threshold 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"answer": "", "draft": True}


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """A cluster of unanswered questions the document does not answer."""

    question: str
    count: int
    examples: tuple[str, ...]
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class Suggestions:
    phrasings: list[PhrasingProposal] = field(default_factory=list)
    drafts: list[DraftProposal] = field(default_factory=list)
    out_of_scope: list[OutOfScope] = field(default_factory=list)
    # Questions that would count but whose text was not stored: (linked or far, unanswered).
    not_stored: int = 0
    since: date | None = None
    min_count: int = MIN_COUNT
    logs: tuple[str, ...] = ()  # the logs read

    def to_json(self) -> dict[str, Any]:
        return {
            "log": list(self.logs),
            "since": self.since.isoformat() if self.since else None,
            "min_count": self.min_count,
            "phrasings": [p.to_json() for p in self.phrasings],
            "drafts": [d.to_json() for d in self.drafts],
            "out_of_scope": [o.to_json() for o in self.out_of_scope],
            "not_stored": self.not_stored,
        }


# ------------------------------------------------------------------ reading


def read_entries(seeds_dir: Path) -> list[FaqEntry]:
    """The FAQ entries of the seeds (every faq.toml and *.faq.toml), as the build reads them."""
    return [e for p in seed_files(seeds_dir) if _is_faq(p) for e in read_faq(p)]


def _key(text: str) -> str:
    return report.normalise(" ".join(text.split()))


def _since(since: date | None) -> str:
    return since.isoformat() if since else ""


@dataclass(slots=True)
class _Candidate:
    wordings: Counter[str] = field(default_factory=Counter)
    rows: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    closeness: float | None = None


def _negatives(db: Database, since: str) -> set[tuple[str, str]]:
    """(entry, question key) pairs that a 👎 disowns: on an answer the entry led, or on the
    answer a tap on its suggestion sent."""
    out = {
        (faq_id, _key(question))
        for faq_id, question in db.execute(
            "SELECT q.faq_id, q.question FROM questions AS q WHERE q.faq_id IS NOT NULL"
            " AND q.question IS NOT NULL AND q.ts >= ? AND EXISTS (SELECT 1 FROM feedback AS f"
            " WHERE f.answer_key = q.answer_key AND f.vote < 0)", [since]
        )
    }
    if report.has_links(db):
        out |= {
            (faq_id, _key(question))
            for faq_id, question in db.execute(
                "SELECT l.faq_id, q.question FROM links AS l JOIN questions AS q"
                " ON q.answer_key = l.answer_key WHERE q.question IS NOT NULL AND l.ts >= ?"
                " AND EXISTS (SELECT 1 FROM feedback AS f WHERE f.answer_key = l.shown_key"
                " AND f.vote < 0)", [since]
            )
        }
    return out


def _linked(db: Database, since: str) -> Iterable[tuple[str, str, int | None, str | None]]:
    """(source, entry, question row id, question text) for the button and 👍 links."""
    if report.has_links(db):
        yield from (
            ("button", faq_id, qid, question)
            for faq_id, qid, question in db.execute(
                "SELECT DISTINCT l.faq_id, q.id, q.question FROM links AS l JOIN questions AS q"
                " ON q.id = (SELECT min(id) FROM questions WHERE answer_key = l.answer_key)"
                " WHERE l.kind = 'button' AND l.ts >= ?", [since]
            )
        )
    yield from (
        ("up", faq_id, qid, question)
        for faq_id, qid, question in db.execute(
            "SELECT q.faq_id, q.id, q.question FROM questions AS q WHERE q.faq_id IS NOT NULL"
            " AND q.answered = 1 AND q.ts >= ? AND EXISTS (SELECT 1 FROM feedback AS f"
            " WHERE f.answer_key = q.answer_key AND f.vote > 0)", [since]
        )
    )


def _phrasings(
    db: Database,
    entries: dict[str, FaqEntry],
    since: str,
    min_count: int,
    far_cutoff: float,
) -> tuple[list[PhrasingProposal], int]:
    """Phrasing proposals, and the count of linked questions whose text was not stored."""
    negative = _negatives(db, since)
    known = {_key(t) for e in entries.values() for t in (e.question, *e.phrasings)}
    own = {
        fid: [_key(t) for t in (e.question, *e.phrasings)] for fid, e in entries.items()
    }
    found: dict[tuple[str, str], _Candidate] = defaultdict(_Candidate)
    hidden: set[int] = set()

    def add(source: str, faq_id: str, qid: int, question: str | None) -> _Candidate | None:
        if faq_id not in entries:
            return None
        if question is None:
            hidden.add(qid)
            return None
        key = _key(question)
        if not key or key in known or (faq_id, key) in negative:
            return None
        cand = found[(faq_id, key)]
        if qid not in cand.rows:
            cand.rows.add(qid)
            cand.wordings[" ".join(question.split())] += 1
        cand.sources.add(source)
        return cand

    for source, faq_id, qid, question in _linked(db, since):
        add(source, faq_id, qid, question)
    closeness: dict[tuple[str, str], float] = {}
    for faq_id, qid, question in db.execute(
        "SELECT faq_id, id, question FROM questions WHERE faq_id IS NOT NULL AND answered = 1"
        " AND ts >= ?", [since]
    ):
        if faq_id not in entries or question is None:
            continue  # unstored text cannot be measured: not counted as far either
        pair = (faq_id, _key(question))
        if pair not in closeness:
            best = process.extractOne(pair[1], own[faq_id], scorer=fuzz.token_set_ratio)
            closeness[pair] = best[1] if best else 0.0
        if closeness[pair] < far_cutoff:
            cand = add("far", faq_id, qid, question)
            if cand is not None:
                cand.closeness = closeness[pair]
    # One wording, one entry (the lint flags a phrasing in two): the entry it was linked to most.
    by_key: dict[str, list[tuple[str, _Candidate]]] = defaultdict(list)
    for (faq_id, key), cand in found.items():
        by_key[key].append((faq_id, cand))
    out = []
    order = list(SOURCE_TEXT)
    for choices in by_key.values():
        choices.sort(key=lambda c: (-len(c[1].rows), c[0]))
        (faq_id, cand), rest = choices[0], choices[1:]
        count = len(cand.rows)
        if count < min_count:
            continue
        ranked = [w for w, _ in sorted(cand.wordings.items(), key=lambda i: (-i[1], i[0]))]
        out.append(
            PhrasingProposal(
                faq_id=faq_id,
                phrasing=ranked[0],
                count=count,
                sources=tuple(sorted(cand.sources, key=order.index)),
                examples=tuple(ranked[1 : 1 + MAX_EXAMPLES]),
                closeness=cand.closeness,
                also=tuple((fid, len(c.rows)) for fid, c in rest),
            )
        )
    entry_order = list(entries)
    out.sort(key=lambda p: (entry_order.index(p.faq_id), -p.count, p.phrasing))
    return out, len(hidden)


def _linked_keys(db: Database, since: str) -> set[str]:
    """Answer keys of refused questions whose tap on a suggestion was not disowned by a 👎:
    the question found its entry, so it is a phrasing proposal, not a draft."""
    if not report.has_links(db):
        return set()
    return {
        key
        for (key,) in db.execute(
            "SELECT l.answer_key FROM links AS l WHERE l.ts >= ? AND NOT EXISTS (SELECT 1"
            " FROM feedback AS f WHERE f.answer_key = l.shown_key AND f.vote < 0)", [since]
        )
    }


# ------------------------------------------------------------------ drafts


def _slug(question: str, taken: set[str]) -> str:
    """An entry id from the question's words (a-z 0-9 _, at most ID_CHARS), unused so far."""
    words = re.sub(r"[^a-z0-9]+", " ", report.normalise(question).casefold()).split()
    slug = ""
    for word in words:
        if len(slug) + len(word) + (1 if slug else 0) > ID_CHARS - 3:
            break
        slug = f"{slug}_{word}" if slug else word
    slug = slug or "draft"
    out, n = slug, 1
    while out in taken:
        n += 1
        out = f"{slug}_{n}"
    taken.add(out)
    return out


def _asked(engine: Engine, wordings: Sequence[str]) -> list[Any]:
    """The engine's answers with its threshold at 0: what the document says closest to each."""
    settings = engine.settings
    engine.settings = dataclasses.replace(settings, threshold=0.0)
    try:
        return [engine.ask(w) for w in wordings]
    finally:
        engine.settings = settings


def _drafts(
    db: Database,
    engine: Engine,
    entries: dict[str, FaqEntry],
    since: str,
    min_count: int,
    scope_floor: float,
    cutoff: float,
    proposed: Iterable[str] = (),
) -> tuple[list[DraftProposal], list[OutOfScope], int]:
    """Drafts and out-of-scope clusters from the unanswered questions, and how many of those
    had no stored text. Wordings `proposed` as phrasings already are not a draft's phrasings."""
    linked = _linked_keys(db, since)
    texts: list[str | None] = [
        question
        for question, key in db.execute(
            "SELECT question, answer_key FROM questions WHERE answered = 0 AND ts >= ?", [since]
        )
        if key is None or key not in linked
    ]
    hidden = sum(t is None for t in texts)
    known = {_key(t) for e in entries.values() for t in (e.question, *e.phrasings)} | set(proposed)
    taken = set(entries)
    drafts, out_of_scope = [], []
    for group in report.group_questions((t for t in texts if t is not None), cutoff):
        if group["count"] < min_count:
            continue
        wordings = list(dict.fromkeys([group["question"], *group["examples"]]))
        answers = _asked(engine, wordings)
        confidence = max((a.confidence for a in answers if a.answered), default=0.0)
        if confidence < scope_floor:
            out_of_scope.append(
                OutOfScope(group["question"], group["count"], tuple(wordings[1:]),
                           round(confidence, 4))
            )
            continue
        # Sentences by their summed score over the wordings the engine answered.
        scores: Counter[str] = Counter()
        for answer in answers:
            if answer.answered:
                for excerpt in answer.excerpts:
                    scores[excerpt.text] += excerpt.score
        ranked = scores.most_common()
        cites = tuple(t for t, s in ranked[:MAX_CITES] if s >= CITE_SHARE * ranked[0][1])
        leads = Counter(a.faq.id for a in answers if a.answered and a.faq is not None)
        seen = {_key(group["question"])}
        phrasings = []
        for w in wordings[1:]:
            if _key(w) not in seen | known:
                seen.add(_key(w))
                phrasings.append(w)
        drafts.append(
            DraftProposal(
                id=_slug(group["question"], taken),
                question=group["question"],
                phrasings=tuple(phrasings),
                cites=cites,
                count=group["count"],
                confidence=round(confidence, 4),
                nearest_faq=leads.most_common(1)[0][0] if leads else None,
            )
        )
    return drafts, out_of_scope, hidden


# ------------------------------------------------------------------ the whole


def suggest(
    db: Database,
    entries: Sequence[FaqEntry],
    engine: Engine,
    *,
    since: date | None = None,
    min_count: int = MIN_COUNT,
    far_cutoff: float = FAR_CUTOFF,
    scope_floor: float = SCOPE_FLOOR,
    cutoff: float = report.GROUP_CUTOFF,
) -> Suggestions:
    """Every proposal the log at `db` supports, counting questions from `since` (UTC) on."""
    by_id = {e.id: e for e in entries}
    start = _since(since)
    phrasings, hidden = _phrasings(db, by_id, start, min_count, far_cutoff)
    drafts, out, unanswered_hidden = _drafts(
        db, engine, by_id, start, min_count, scope_floor, cutoff,
        {_key(p.phrasing) for p in phrasings},
    )
    return Suggestions(phrasings, drafts, out, hidden + unanswered_hidden, since, min_count)


def suggest_from_logs(
    paths: Path | Sequence[Path],
    seeds_dir: Path,
    engine: Engine,
    **options: Any,
) -> Suggestions:
    """`suggest` on the log at `paths` (several replicas' logs merged), against the FAQ of
    `seeds_dir`; empty when nothing was logged yet."""
    listed = [paths] if isinstance(paths, Path) else list(paths)
    entries = read_entries(seeds_dir)
    opened = report.open_logs(listed)
    if opened is None:
        result = Suggestions(since=options.get("since"),
                             min_count=options.get("min_count", MIN_COUNT))
    else:
        db, _ = opened
        try:
            result = suggest(db, entries, engine, **options)
        finally:
            db.close()
    result.logs = tuple(str(p) for p in listed)
    return result


# ------------------------------------------------------------------ output


def format_json(result: Suggestions) -> str:
    return json.dumps(result.to_json(), ensure_ascii=False, indent=2)


def _times(n: int) -> str:
    return f"asked {n} time{'' if n == 1 else 's'}"


def _lines(values: Iterable[tuple[str, str | None]]) -> Array:
    """A multi-line array in the house style (two spaces in), each value with its comment."""
    array = tomlkit.array()
    for value, comment in values:
        array.add_line(value, indent="  ", comment=comment)
    array.add_line(indent="")
    return array


def _dump(table: Table) -> str:
    doc = tomlkit.document()
    aot = tomlkit.aot()
    aot.append(table)
    doc.add("faq", aot)
    return tomlkit.dumps(doc)


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in text.splitlines())


def _phrasing_comment(p: PhrasingProposal) -> str:
    why = "; ".join(SOURCE_TEXT[s] for s in p.sources)
    parts = [f"{_times(p.count)}: {why}"]
    if p.closeness is not None:
        parts.append(f"closeness {p.closeness:.0f}")
    if p.examples:
        parts.append("also as " + " | ".join(repr(e) for e in p.examples))
    if p.also:
        parts.append("also linked to " + ", ".join(f"{fid} ({n})" for fid, n in p.also))
    return "; ".join(parts)


def format_toml(result: Suggestions, entries: Sequence[FaqEntry] = ()) -> str:
    """The proposals as a file in the format of seeds/faq.toml, with comments saying where each
    came from, for `python -m bot faq apply`."""
    questions = {e.id: e.question for e in entries}
    since = f" since {result.since.isoformat()}" if result.since else ""
    head = [
        f"Proposals from the question log {', '.join(result.logs) or '(none)'}{since},"
        f" asked at least {result.min_count} times (python -m bot faq suggest).",
        "Review them: delete what you do not want; for each draft write `answer` from its cites",
        "and remove `draft = true` (faq apply refuses a file with drafts). Then:",
        "  python -m bot faq apply THIS_FILE --check",
    ]
    if result.not_stored:
        head.append(f"{result.not_stored} question(s) could not be proposed: their text was not"
                    " stored (store_questions = false).")
    parts = [_comment("\n".join(head))]
    by_entry: dict[str, list[PhrasingProposal]] = defaultdict(list)
    for p in result.phrasings:
        by_entry[p.faq_id].append(p)
    for faq_id, proposals in by_entry.items():
        table = tomlkit.table()
        table.add("id", faq_id)
        table.add("phrasings", _lines((p.phrasing, _phrasing_comment(p)) for p in proposals))
        title = f" ({questions[faq_id]})" if faq_id in questions else ""
        parts.append("\n" + _comment(f"New phrasings for {faq_id}{title}.") + _dump(table))
    for d in result.drafts:
        table = tomlkit.table()
        table.add("id", d.id)
        table.add("question", d.question)
        table.add("phrasings", _lines((w, None) for w in d.phrasings))
        table.add("answer", "")
        table.add("cites", _lines((c, None) for c in d.cites))
        table.add("draft", True)
        note = [
            f"Draft: {_times(d.count)} and not answered; the document's closest sentences"
            f" (confidence {d.confidence:.2f} at threshold 0) are its cites.",
            "Write the answer from the cites alone, then remove `draft = true`.",
        ]
        if d.nearest_faq:
            note.append(f"The engine's nearest entry is {d.nearest_faq}: these wordings may"
                        " belong there as phrasings instead.")
        parts.append("\n" + _comment("\n".join(note)) + _dump(table))
    if result.out_of_scope:
        lines = [f"Not answered by the document (confidence below {SCOPE_FLOOR} even at"
                 " threshold 0): no entry proposed."]
        lines += [f"out of scope, {_times(o.count)}: {o.question}" for o in result.out_of_scope]
        parts.append("\n" + _comment("\n".join(lines)))
    if len(parts) == 1:
        parts.append(_comment("Nothing to propose."))
    return "".join(parts)


# ------------------------------------------------------------------ the command


def parse_since(value: str | None) -> date | None:
    """`--since` as `report` reads it: a day, YYYY-MM-DD (UTC)."""
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return date.fromisoformat(value)


def main(args: argparse.Namespace, cfg: Config) -> int:
    """The `faq suggest` command: 0 done, 2 a bad argument or an unreadable log."""
    from bot.loader import load_engine

    try:
        since = parse_since(args.since)
    except ValueError:
        print(f"error: --since takes a date like 2025-01-31, not {args.since!r}", file=sys.stderr)
        return 2
    if args.min_count < 1:
        print("error: --min-count must be at least 1", file=sys.stderr)
        return 2
    paths: list[Path] = args.log or [cfg.log_db]
    if not any(p.is_file() for p in paths):
        print(f"no questions logged yet at {', '.join(str(p) for p in paths)}", file=sys.stderr)
    loaded = load_engine(cfg)
    if loaded.warning:
        print(f"warning: {loaded.warning}", file=sys.stderr)
    try:
        result = suggest_from_logs(
            paths, cfg.seeds, loaded.engine, since=since, min_count=args.min_count
        )
    except report.LogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = format_json(result) + "\n" if args.json else format_toml(
        result, read_entries(cfg.seeds)
    )
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(result.phrasings)} phrasing(s), {len(result.drafts)} draft(s) and "
              f"{len(result.out_of_scope)} out-of-scope note(s) to {args.out}", file=sys.stderr)
    return 0
