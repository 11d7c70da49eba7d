"""The editor's report from the question log: what the bot could not answer, so the FAQ can grow.

Read-only over the log `bot.questionlog` writes (safe while the bot runs: the log is WAL).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sqlite_utils import Database

NOT_STORED = "(question text not stored)"
UNKNOWN = "(unknown)"
GROUP_CUTOFF = 80.0  # token_set_ratio at which two wordings count as the same question
MAX_EXAMPLES = 5
LOW_CONFIDENCE = 0.6  # answered, but below this: worth a look
LOW_LIMIT = 20
STATS_DAYS = 30  # how far back /stats looks for unanswered questions
# Up to this many distinct wordings every pair is compared. Beyond, comparing every pair takes
# minutes (57,000 wordings: 105 s), so a wording is compared only with those sharing one of its
# RARE_WORDS rarest words: 2 s there, with 99.4% of the questions in the same group as when
# every pair is compared (`python -m bot bench-report`).
EXACT_KEYS = 2000
RARE_WORDS = 3
SECTIONS = ("unanswered", "disliked", "faq_hits", "low_confidence", "faq_loop")
CSV_FIELDS = ("section", "question", "count", "examples", "answer", "id", "confidence",
              "led", "up", "down", "linked")

_PUNCT = re.compile(r"[^\w\s]|_")
# Words that change how a question is worded, not what it asks: dropped before comparing, so
# "who is the pm of syria" and "who's syria's pm" meet. Question words are kept on purpose.
_FILLER = frozenset(
    "a an the is are was were be been am s of in on at to for by from with and or "
    "do does did has have had it its please tell me".split()
)


class LogError(Exception):
    """The file at the log path is not a readable question log."""


@dataclass(frozen=True, slots=True)
class Report:
    unanswered: list[dict[str, Any]] = field(default_factory=list)
    disliked: list[dict[str, Any]] = field(default_factory=list)
    faq_hits: list[dict[str, Any]] = field(default_factory=list)
    low_confidence: list[dict[str, Any]] = field(default_factory=list)
    # Per FAQ entry, the editor's loop: answers it led, their 👍/👎, and questions linked to
    # it after a refusal (a tap on its suggestion: its phrasings missed how people ask).
    faq_loop: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    answered: int = 0
    # The period covered: the first and last question's time (ISO, UTC), and the log's
    # retention (None: it keeps everything), so a reader knows what "all" means.
    first: str | None = None
    last: str | None = None
    keep_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        sections: dict[str, Any] = {name: getattr(self, name) for name in SECTIONS}
        sections["period"] = {"first": self.first, "last": self.last, "keep_days": self.keep_days}
        return sections


def normalise(question: str) -> str:
    """Comparison form: casefolded, punctuation and filler words gone."""
    words = _PUNCT.sub(" ", question.casefold()).split()
    return " ".join(w for w in words if w not in _FILLER) or " ".join(words)


def group_questions(
    questions: Iterable[str | None], cutoff: float = GROUP_CUTOFF
) -> list[dict[str, Any]]:
    """Near-duplicate questions as groups, most asked first.

    Greedy: the most asked wording not yet grouped founds a group and takes every ungrouped
    wording scoring at least `cutoff` against it (with more than EXACT_KEYS wordings, every
    ungrouped one sharing one of its RARE_WORDS rarest words). Texts that were not stored
    (None) form one group of their own, since they cannot be compared.
    """
    wordings: Counter[str] = Counter()
    hidden = 0
    for q in questions:
        if q is None:
            hidden += 1
        elif q.strip():
            wordings[" ".join(q.split())] += 1
    # Wordings differing only in case or punctuation share one comparison key.
    by_key: dict[str, Counter[str]] = defaultdict(Counter)
    for wording, n in wordings.items():
        by_key[normalise(wording)][wording] += n
    keys = sorted(by_key, key=lambda k: (-sum(by_key[k].values()), k))
    groups = []
    for founder, matched in _founders(keys, cutoff):
        members = Counter(by_key[founder])
        for match in matched:
            members.update(by_key[match])
        ranked = sorted(members.items(), key=lambda item: (-item[1], item[0]))
        groups.append(
            {
                "question": ranked[0][0],
                "count": sum(members.values()),
                "examples": [w for w, _ in ranked[:MAX_EXAMPLES]],
            }
        )
    if hidden:
        groups.append({"question": NOT_STORED, "count": hidden, "examples": []})
    groups.sort(key=lambda g: (-g["count"], g["question"]))
    return groups


def _founders(keys: list[str], cutoff: float) -> Iterator[tuple[str, list[str]]]:
    """Each group's founding key with the keys it takes, `keys` being most asked first."""
    if len(keys) <= EXACT_KEYS:
        grouped: set[str] = set()
        for i, key in enumerate(keys):
            if key in grouped:
                continue
            grouped.add(key)
            # Every key before this one is grouped already. Only a key with words can match
            # others ("???" normalises to nothing and stays alone).
            rest = [k for k in keys[i + 1 :] if k not in grouped] if key else []
            matches = process.extract(
                key, rest, scorer=fuzz.token_set_ratio, score_cutoff=cutoff, limit=None
            )
            grouped.update(m for m, _, _ in matches)
            yield key, [m for m, _, _ in matches]
        return
    words = [set(key.split()) for key in keys]
    ungrouped: dict[str, set[int]] = defaultdict(set)  # word -> ungrouped keys that have it
    for i, ws in enumerate(words):
        for w in ws:
            ungrouped[w].add(i)
    done = [False] * len(keys)

    def take(i: int) -> None:
        done[i] = True
        for w in words[i]:
            ungrouped[w].discard(i)

    for i, key in enumerate(keys):
        if done[i]:
            continue
        take(i)
        # Rarest among the wordings still ungrouped; ties by the word, so runs agree.
        rare = sorted(words[i], key=lambda w: (len(ungrouped[w]), w))[:RARE_WORDS]
        candidates = sorted(set().union(*(ungrouped[w] for w in rare)))
        matches = process.extract(
            key, [keys[j] for j in candidates], scorer=fuzz.token_set_ratio,
            score_cutoff=cutoff, limit=None,
        )
        for _, _, index in matches:
            take(candidates[index])
        yield key, [m for m, _, _ in matches]


def _open(path: Path) -> Database | None:
    """The log, or None when nothing was logged yet; never creates the file."""
    if not path.is_file():
        return None
    try:
        db = Database(sqlite3.connect(path))
        if "questions" not in db.table_names():
            db.close()
            return None
    except sqlite3.DatabaseError as exc:
        raise LogError(f"{path} is not a question log: {exc}") from exc
    return db


def _since(since: date | None) -> str:
    return since.isoformat() if since else ""


# Every column but the id: merged rows get new ids, in one sequence.
_QUESTION_COLUMNS = (
    "ts, chat_type, user_hash, question, answered, confidence, faq_id, sentences, answer_key"
)
_FEEDBACK_COLUMNS = "ts, answer_key, user_hash, vote"
_LINK_COLUMNS = "ts, answer_key, faq_id, user_hash, kind, shown_key"


def _merged(paths: Sequence[Path]) -> tuple[Database, int | None] | None:
    """Several logs (one per replica) copied into one in-memory log, with the longest retention
    among them (None if one keeps everything); None if no log exists yet.

    Answer keys are random per answer, so votes still join their question across files. Count
    people across replicas only if they share one salt (BOT_LOG_SALT): hashes differ otherwise.
    """
    from bot.questionlog import ensure_schema

    merged = Database(memory=True)
    ensure_schema(merged)
    found = False
    keeps: list[int | None] = []
    for path in paths:
        db = _open(path)
        if db is None:
            continue
        found = True
        try:
            keeps.append(_keep_days(db))
            with merged.atomic():
                merged["questions"].insert_all(
                    db.query(f"SELECT {_QUESTION_COLUMNS} FROM questions ORDER BY id")
                )
                if "feedback" in db.table_names():
                    merged["feedback"].insert_all(
                        db.query(f"SELECT {_FEEDBACK_COLUMNS} FROM feedback ORDER BY id"),
                        replace=True,
                    )
                if "links" in db.table_names():
                    merged["links"].insert_all(
                        db.query(f"SELECT {_LINK_COLUMNS} FROM links ORDER BY id")
                    )
        except sqlite3.DatabaseError as exc:
            merged.close()
            raise LogError(f"cannot read the question log {path}: {exc}") from exc
        finally:
            db.close()
    if not found:
        merged.close()
        return None
    return merged, None if None in keeps else max(k for k in keeps if k is not None)


def _keep_days(db: Database) -> int | None:
    from bot.questionlog import stored_keep_days

    return stored_keep_days(db)


def open_logs(path: Path | Sequence[Path]) -> tuple[Database, int | None] | None:
    """The log at `path` (or several replicas' logs merged in memory) with its retention, for
    reading; None when nothing was logged yet. The caller closes it."""
    paths = [path] if isinstance(path, Path) else list(path)
    if len(paths) != 1:
        return _merged(paths)
    db = _open(paths[0])
    if db is None:
        return None
    try:
        return db, _keep_days(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise LogError(f"cannot read the question log {paths[0]}: {exc}") from exc


def has_links(db: Database) -> bool:
    """Whether the log has the links table (a log written before it existed has not)."""
    return "links" in db.table_names()


def build_report(
    path: Path | Sequence[Path],
    since: date | None = None,
    *,
    cutoff: float = GROUP_CUTOFF,
    low_below: float = LOW_CONFIDENCE,
    low_limit: int = LOW_LIMIT,
) -> Report:
    """The four sections from the log at `path` (or the logs of several replicas, merged),
    counting from `since` (UTC) on, and the period they cover."""
    paths = [path] if isinstance(path, Path) else list(path)
    if len(paths) == 1:
        db, keep_days = _open(paths[0]), None
    else:
        merged = _merged(paths)
        db, keep_days = merged if merged is not None else (None, None)
    if db is None:
        return Report()
    try:
        if len(paths) == 1:
            keep_days = _keep_days(db)
        report = _build(db, _since(since), cutoff, low_below, low_limit)
        return dataclasses.replace(report, keep_days=keep_days)
    except sqlite3.DatabaseError as exc:
        where = ", ".join(str(p) for p in paths)
        raise LogError(f"cannot read the question log {where}: {exc}") from exc
    finally:
        db.close()


def _build(db: Database, since: str, cutoff: float, low_below: float, low_limit: int) -> Report:
    totals = next(
        db.query(
            "SELECT count(*) AS total, coalesce(sum(answered), 0) AS answered,"
            " min(ts) AS first, max(ts) AS last FROM questions WHERE ts >= ?",
            [since],
        )
    )
    unanswered = group_questions(
        (
            row["question"]
            for row in db.query(
                "SELECT question FROM questions WHERE answered = 0 AND ts >= ?", [since]
            )
        ),
        cutoff,
    )
    faq_hits = list(
        db.query(
            "SELECT faq_id AS id, count(*) AS count FROM questions"
            " WHERE faq_id IS NOT NULL AND ts >= ? GROUP BY faq_id ORDER BY count DESC, faq_id",
            [since],
        )
    )
    return Report(
        unanswered=unanswered,
        disliked=_disliked(db, since),
        faq_hits=faq_hits,
        low_confidence=_low_confidence(db, since, low_below, low_limit),
        faq_loop=_faq_loop(db, since),
        total=totals["total"],
        answered=totals["answered"],
        first=totals["first"],
        last=totals["last"],
    )


def _low_confidence(db: Database, since: str, below: float, limit: int) -> list[dict[str, Any]]:
    """One line per question at its lowest confidence, lowest first, so a repeated question
    takes one line. Read in confidence order off the (answered, confidence) index and stopped
    at `limit` questions: a GROUP BY over every weak answer took half a second at 1M rows."""
    seen: dict[str | None, float] = {}
    if limit <= 0:
        return []
    rows = db.execute(
        "SELECT question, confidence FROM questions"
        " WHERE answered = 1 AND confidence < ? AND ts >= ? ORDER BY confidence, question",
        [below, since],
    )
    for question, confidence in rows:  # a question's first row is its lowest confidence
        if question not in seen:
            seen[question] = confidence
            if len(seen) == limit:
                break
    return [
        {"question": question or NOT_STORED, "confidence": confidence}
        for question, confidence in seen.items()
    ]


def _faq_loop(db: Database, since: str) -> list[dict[str, Any]]:
    """Per FAQ entry: answers it led (`faq_hits`' count, taps on its buttons included), the 👍
    and 👎 on those answers, and the questions linked to it by a tap on its suggestion under a
    refused answer. Most led first."""
    rows: dict[str, dict[str, Any]] = {}

    def entry(faq_id: str) -> dict[str, Any]:
        return rows.setdefault(faq_id, {"id": faq_id, "led": 0, "up": 0, "down": 0, "linked": 0})

    for faq_id, n in db.execute(
        "SELECT faq_id, count(*) FROM questions WHERE faq_id IS NOT NULL AND ts >= ?"
        " GROUP BY faq_id", [since]
    ):
        entry(faq_id)["led"] = n
    # One question row per answer key (min id), as `_disliked` joins them.
    for faq_id, up, down in db.execute(
        "SELECT q.faq_id, coalesce(sum(f.vote > 0), 0), coalesce(sum(f.vote < 0), 0)"
        " FROM feedback AS f JOIN questions AS q ON q.id ="
        " (SELECT min(id) FROM questions WHERE answer_key = f.answer_key)"
        " WHERE q.faq_id IS NOT NULL AND f.ts >= ? GROUP BY q.faq_id", [since]
    ):
        entry(faq_id).update(up=up, down=down)
    if has_links(db):
        for faq_id, n in db.execute(
            "SELECT faq_id, count(*) FROM links WHERE kind = 'button' AND ts >= ?"
            " GROUP BY faq_id", [since]
        ):
            entry(faq_id)["linked"] = n
    return sorted(rows.values(), key=lambda r: (-r["led"], -r["linked"], r["id"]))


def answer_ref(faq_id: str | None, sentences_json: str | None) -> str:
    """What an answer was, as text: its FAQ id, else its first sentence's place."""
    if faq_id:
        return f"faq:{faq_id}"
    try:
        first = json.loads(sentences_json or "[]")[0]
        return f"{first['document']}, paragraph {first['paragraph']}, sentence {first['sentence']}"
    except (ValueError, LookupError, TypeError):
        return UNKNOWN


def _disliked(db: Database, since: str) -> list[dict[str, Any]]:
    """Thumbs-down per answer (FAQ entry or first sentence), across every time it was given."""
    rows = db.query(
        "SELECT q.id, q.question, q.faq_id, q.sentences FROM feedback AS f"
        " LEFT JOIN questions AS q ON q.id ="
        " (SELECT min(id) FROM questions WHERE answer_key = f.answer_key)"
        " WHERE f.vote < 0 AND f.ts >= ?",
        [since],
    )
    counts: Counter[str] = Counter()
    asked: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        ref = answer_ref(row["faq_id"], row["sentences"])
        counts[ref] += 1
        asked[ref][row["question"] or (NOT_STORED if row["id"] else UNKNOWN)] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"question": _most_asked(asked[ref]), "answer": ref, "count": n} for ref, n in ranked]


def _most_asked(wordings: Counter[str]) -> str:
    """The most frequent wording; a tie goes alphabetically, so the report is stable."""
    return min(wordings.items(), key=lambda item: (-item[1], item[0]))[0]


# -- output ------------------------------------------------------------------------------------


def format_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def format_csv(report: Report) -> str:
    """One table for all sections, told apart by the `section` column."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for section in SECTIONS:
        for row in getattr(report, section):
            flat = dict(row, section=section)
            if "examples" in flat:
                flat["examples"] = " | ".join(flat["examples"])
            writer.writerow(flat)
    return out.getvalue()


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, *(lines or ["  (none)"])]


def _minute(ts: str) -> str:
    """A log time as `2025-03-01 10:00 UTC` (stored times are UTC ISO with milliseconds)."""
    try:
        return datetime.fromisoformat(ts).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return ts


def period_line(report: Report) -> str:
    """Which questions the report covers: first to last, and how long the log keeps them."""
    span = (
        f"From {_minute(report.first)} to {_minute(report.last)}"
        if report.first and report.last
        else "No questions in this period"
    )
    keeping = (
        f"; keeping {report.keep_days} days (older questions are deleted)"
        if report.keep_days
        else "; keeping everything"
    )
    return f"{span}{keeping}."


def format_text(report: Report, path: Path | Sequence[Path], since: date | None = None) -> str:
    """The report for a person reading a terminal."""
    span = f" since {since.isoformat()}" if since else ""
    paths = [path] if isinstance(path, Path) else list(path)
    where = f"{'s' if len(paths) > 1 else ''} {', '.join(str(p) for p in paths)}"
    unanswered = []
    for g in report.unanswered:
        unanswered.append(f"  {g['count']:>5}  {g['question']}")
        unanswered += [f"         ~ {w}" for w in g["examples"] if w != g["question"]]
    lines = [
        f"Question log{where}{span}: {report.total} questions, "
        f"{_share(report.answered, report.total)} answered.",
        period_line(report),
        *_section("Unanswered questions, grouped (most asked first):", unanswered),
        *_section(
            "Answers with the most thumbs-down:",
            [f"  {d['count']:>5}  {d['answer']}  <- {d['question']}" for d in report.disliked],
        ),
        *_section("FAQ entries used:", [f"  {h['count']:>5}  {h['id']}" for h in report.faq_hits]),
        *_section(
            "Answered with low confidence:",
            [f"  {r['confidence']:>5.2f}  {r['question']}" for r in report.low_confidence],
        ),
        *_section(
            "FAQ entries in the loop (led: answers it gave; linked: questions tied to it by a"
            " tap on its suggestion after a refusal):",
            [f"  {'led':>5}  {'👍':>4}  {'👎':>4}  {'linked':>6}  id"] * bool(report.faq_loop)
            + [f"  {r['led']:>5}  {r['up']:>5}  {r['down']:>5}  {r['linked']:>6}  {r['id']}"
               for r in report.faq_loop],
        ),
    ]
    return "\n".join(lines)


def short_stats(path: Path, today: date | None = None) -> str:
    """A few plain-text lines for an admin's /stats (the caller escapes them for Telegram)."""
    db = _open(path)
    if db is None:
        return "No questions logged yet."
    day = (today or datetime.now(UTC).date()).isoformat()
    try:
        row = next(
            db.query(
                "SELECT count(*) AS total, coalesce(sum(answered), 0) AS answered,"
                " coalesce(sum(ts >= ?), 0) AS today FROM questions",
                [day],
            )
        )
        # Recent questions only: grouping costs time quadratic in distinct wordings.
        month_ago = (date.fromisoformat(day) - timedelta(days=STATS_DAYS)).isoformat()
        groups = group_questions(
            r["question"]
            for r in db.query(
                "SELECT question FROM questions WHERE answered = 0 AND ts >= ?", [month_ago]
            )
        )
        top_faq = list(
            db.query(
                "SELECT faq_id, count(*) AS n FROM questions WHERE faq_id IS NOT NULL"
                " GROUP BY faq_id ORDER BY n DESC, faq_id LIMIT 1"
            )
        )
    finally:
        db.close()
    lines = [
        f"Questions today: {row['today']} (total {row['total']})",
        f"Answered: {_share(row['answered'], row['total'])}",
    ]
    if groups:
        top = "; ".join(f"{g['question']} ({g['count']})" for g in groups[:3])
        lines.append(f"Top unanswered ({STATS_DAYS} days): {top}")
    if top_faq:
        lines.append(f"Top FAQ: {top_faq[0]['faq_id']} ({top_faq[0]['n']})")
    return "\n".join(lines)
