"""`python -m bot faq apply FILE [--check] [--force]`: merge reviewed FAQ proposals into the seeds.

A proposal file has the format of `seeds/faq.toml`. An `[[faq]]` table whose `id` is already an
entry adds its `phrasings` and `cites` to that entry (what is there already, case and spacing
aside, is skipped); any other is a new entry, appended to `faq.toml`. Drafts (`draft = true`, or
an empty `answer`) are refused: `faq suggest` leaves the answer for the editor to write, and only
the editor can say the document supports it.

Why tomlkit: the curated file is written by hand, with comments saying why an entry is as it is;
a merge must add lines, never rewrite the ones around them. The merged files are validated as the
index build does (built in a temporary folder) and, with `--check`, the project's question sets
are answered before and after, so a phrasing that steals another entry's questions shows up as
questions answered worse, and the merge is refused unless `--force`. Writing is atomic (a
temporary file renamed over the old one), so a running bot's /reload never reads half a file.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
from tomlkit.items import AoT, Array, Table

from bot.config import Config
from bot.faqlint import ERROR, lint_seeds
from bot.index import build
from bot.ingest import ID_RE, SeedError, read_seeds, seed_files
from bot.text import normalise

if TYPE_CHECKING:
    from bot.evaluate import Case, Result
    from bot.search import Engine, Settings

ROOT = Path(__file__).resolve().parents[1]
# The project's question sets, each used by --check when present (a checkout has them).
QUESTION_SETS = (
    ROOT / "tests" / "data" / "questions.jsonl",
    ROOT / "tests" / "data" / "questions-b.jsonl",
    ROOT.parent / "shared" / "eval" / "dev-questions.jsonl",
)
FAQ_FILE = "faq.toml"
KEYS = frozenset({"id", "question", "phrasings", "answer", "cites", "draft"})
LISTS = ("phrasings", "cites")
_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*faq[ \t]*\]\]", re.M)


class ProposalError(Exception):
    """A proposal that cannot be merged as written: told in one message, naming file and line."""


@dataclass(slots=True)
class Proposal:
    data: dict[str, Any]
    line: int  # of its [[faq]] header in the proposal file

    @property
    def id(self) -> str:
        return self.data["id"]


@dataclass(slots=True)
class Merge:
    """The merged text of each FAQ file that changed, and what changed, for the summary."""

    texts: dict[Path, str] = field(default_factory=dict)
    added: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # id -> key -> texts
    new: list[str] = field(default_factory=list)
    already: int = 0  # proposed phrasings and cites the entries had already

    @property
    def touched(self) -> list[str]:
        return [*self.new, *(i for i in self.added if i not in self.new)]

    def describe(self) -> str:
        phrasings = sum(len(a.get("phrasings", [])) for i, a in self.added.items()
                        if i not in self.new)
        cites = sum(len(a.get("cites", [])) for i, a in self.added.items() if i not in self.new)
        parts = []
        if self.new:
            parts.append(f"{len(self.new)} new entr{'y' if len(self.new) == 1 else 'ies'} "
                         f"({', '.join(self.new)})")
        if phrasings:
            parts.append(f"{phrasings} phrasing(s) added")
        if cites:
            parts.append(f"{cites} cite(s) added")
        if self.already:
            parts.append(f"{self.already} already there")
        return "; ".join(parts) or "nothing to add"


# ------------------------------------------------------------------ reading proposals


def read_proposals(path: Path) -> list[Proposal]:
    """The [[faq]] tables of a proposal file, each checked for shape (not yet for drafts)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProposalError(f"{path}: cannot read it ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProposalError(f"{path}: malformed TOML: {exc}") from exc
    tables = data.get("faq", [])
    unknown = set(data) - {"faq"}
    if unknown or not isinstance(tables, list):
        raise ProposalError(f"{path}: expected only [[faq]] tables, found {sorted(unknown)}")
    lines = [text.count("\n", 0, m.start()) + 1 for m in _HEADER.finditer(text)]
    out = []
    for n, raw in enumerate(tables):
        line = lines[n] if n < len(lines) else 0
        where = f"{path}:{line}" if line else str(path)
        eid = raw.get("id")
        if not isinstance(eid, str) or not ID_RE.match(eid):
            raise ProposalError(f"{where}: 'id' must be 1-40 characters of a-z 0-9 _")
        extra = set(raw) - KEYS
        if extra:
            raise ProposalError(f"{where}: {eid}: unknown key(s) {', '.join(sorted(extra))}")
        for key in LISTS:
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ProposalError(f"{where}: {eid}: '{key}' must be a list of strings")
        for key in ("question", "answer"):
            if key in raw and not isinstance(raw[key], str):
                raise ProposalError(f"{where}: {eid}: '{key}' must be a string")
        out.append(Proposal(raw, line))
    return out


def drafts(proposals: list[Proposal], existing: set[str]) -> list[Proposal]:
    """Proposals still marked as drafts: `draft = true`, an empty answer, or a new entry with
    no answer at all (an addition to an existing entry, or to one the file writes, needs none)."""
    written = {p.id for p in proposals if str(p.data.get("answer", "")).strip()}
    out = []
    for p in proposals:
        answer = p.data.get("answer")
        missing = answer is None and p.id not in existing | written
        if p.data.get("draft") is True or missing or (answer is not None and not answer.strip()):
            out.append(p)
    return out


# ------------------------------------------------------------------ merging


def faq_files(seeds_dir: Path) -> list[Path]:
    return [p for p in seed_files(seeds_dir) if p.name == FAQ_FILE or p.name.endswith(".faq.toml")]


def _entries(doc: tomlkit.TOMLDocument) -> AoT | None:
    faq = doc.get("faq")
    return faq if isinstance(faq, AoT) else None


def _array(values: list[str]) -> Array:
    """A multi-line array in the house style: one string a line, two spaces in."""
    parsed = tomlkit.parse("x = [\n" + "".join(f"  {_string(v)},\n" for v in values) + "]\n")
    return parsed["x"]


def _string(value: str) -> str:
    return tomlkit.string(value).as_string()


def _render(data: dict[str, Any]) -> Table:
    """A new entry as the house writes one: keys in the usual order, lists a line each."""
    lines = ["[[faq]]", f"id = {_string(data['id'])}", f"question = {_string(data['question'])}"]
    lines.append("phrasings = [" + "".join(f"\n  {_string(v)}," for v in data["phrasings"])
                 + ("\n]" if data["phrasings"] else "]"))
    lines.append(f"answer = {_string(data['answer'])}")
    lines.append("cites = [" + "".join(f"\n  {_string(v)}," for v in data["cites"]) + "\n]")
    table = tomlkit.parse("\n".join(lines) + "\n")["faq"][0]
    table.trivia.indent = "\n"  # a blank line before its header, as between the others
    return table


def merge(seeds_dir: Path, proposals: list[Proposal], source: Path) -> Merge:
    """The proposals merged into the seeds' FAQ files, in memory."""
    files = faq_files(seeds_dir)
    docs = {p: tomlkit.parse(p.read_text(encoding="utf-8")) for p in files}
    target = seeds_dir / FAQ_FILE
    if target not in docs:
        docs[target] = tomlkit.document()
    where: dict[str, tuple[Path, Table]] = {}
    for path, doc in docs.items():
        for table in _entries(doc) or []:
            if isinstance(table.get("id"), str):
                where.setdefault(table["id"], (path, table))
    result = Merge()
    changed: set[Path] = set()
    for p in proposals:
        at = f"{source}:{p.line}: {p.id}" if p.line else f"{source}: {p.id}"
        if p.id in where:
            path, table = where[p.id]
            for key in ("question", "answer"):
                if key in p.data and p.data[key].strip() != str(table.get(key, "")).strip():
                    raise ProposalError(
                        f"{at}: its {key} differs from the entry's in {path.name}; a proposal "
                        f"adds phrasings and cites only: change the {key} in {path.name} by hand"
                    )
            for key in LISTS:
                have = table.get(key)
                seen = {normalise(str(v)) for v in (have or [])}
                if key == "phrasings":
                    seen.add(normalise(str(table.get("question", ""))))
                fresh = []
                for value in p.data.get(key, []):
                    norm = normalise(value)
                    if not norm or norm in seen:
                        result.already += 1
                        continue
                    seen.add(norm)
                    fresh.append(value.strip() if key == "phrasings" else value)
                if not fresh:
                    continue
                if isinstance(have, Array):
                    for value in fresh:
                        have.append(value)
                else:
                    table[key] = _array(fresh)
                result.added.setdefault(p.id, {}).setdefault(key, []).extend(fresh)
                changed.add(path)
        else:
            for key in ("question", "answer"):
                if not str(p.data.get(key, "")).strip():
                    raise ProposalError(f"{at}: a new entry needs a '{key}'")
            if not p.data.get("cites"):
                raise ProposalError(f"{at}: a new entry needs at least one cite")
            question = p.data["question"].strip()
            seen, phrasings = {normalise(question), ""}, []  # the question is asked already
            for v in p.data.get("phrasings", []):
                if normalise(v) not in seen:
                    seen.add(normalise(v))
                    phrasings.append(v.strip())
            data = {
                "id": p.id,
                "question": question,
                "phrasings": phrasings,
                "answer": p.data["answer"].strip(),
                "cites": list(p.data["cites"]),
            }
            doc = docs[target]
            entries = _entries(doc)
            table = _render(data)
            if entries is None:
                doc.append("faq", tomlkit.aot())
                entries = _entries(doc)
            assert entries is not None
            entries.append(table)
            where[p.id] = (target, table)
            result.new.append(p.id)
            result.added[p.id] = {k: list(data[k]) for k in LISTS}
            changed.add(target)
    # A faq.toml made here starts with its first entry, not with the blank line between two.
    result.texts = {
        path: docs[path].as_string() if path in files else docs[path].as_string().lstrip("\n")
        for path in sorted(changed)
    }
    return result


# ------------------------------------------------------------------ validating and checking


def merged_seeds(seeds_dir: Path, result: Merge, dest: Path) -> Path:
    """A copy of the seeds folder with the merged FAQ files in place of the old ones."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in seed_files(seeds_dir):
        shutil.copy2(path, dest / path.name)
    for path, text in result.texts.items():
        (dest / path.name).write_text(text, encoding="utf-8")
    return dest


def validate(seeds_dir: Path, copy: Path, db: Path, source: Path) -> Path:
    """Build the merged copy as the index build would; a SeedError names the real file (the
    line is the merged file's) and says nothing was written."""
    try:
        return build(copy, db)
    except SeedError as exc:
        real = seeds_dir / Path(exc.path).name if Path(exc.path).parent == copy else exc.path
        raise SeedError(
            real, exc.line, f"{exc.message} (after merging {source}; nothing was written)"
        ) from exc


@dataclass(frozen=True, slots=True)
class Change:
    """One question answered differently after the merge."""

    set_name: str
    before: Result
    after: Result

    @property
    def better(self) -> bool:
        return _merit(self.after) > _merit(self.before)

    def describe(self) -> str:
        case = self.before.case

        def what(r: Result) -> str:
            if not r.answer.answered:
                return "refused"
            told = f"rank {r.rank}" if r.rank else ("answered" if not case.gold else "wrong")
            return f"{told} (faq {r.answer.faq.id})" if r.answer.faq else told

        return (f"{self.set_name} {case.id} {case.q!r}: {what(self.before)} -> "
                f"{what(self.after)}")


def _merit(r: Result) -> float:
    """Higher is better: an in-scope question by its rank (missing is worst), an out-of-scope
    one by being refused."""
    if not r.case.gold:
        return 0.0 if r.answer.answered else 1.0
    return 1 / r.rank if r.rank else 0.0


def compare(
    sets: list[tuple[str, list[Case]]], before: Engine, after: Engine
) -> tuple[list[Change], int]:
    """Every question of the sets asked of both engines: the ones whose merit changed, and
    how many were asked."""
    from bot.evaluate import evaluate

    changes, asked = [], 0
    for name, cases in sets:
        old, new = evaluate(before, cases).results, evaluate(after, cases).results
        asked += len(cases)
        changes += [
            Change(name, a, b)
            for a, b in zip(old, new, strict=True)
            if not math.isclose(_merit(a), _merit(b))
        ]
    return changes, asked


def question_sets(extra: list[Path] | None) -> list[tuple[str, list[Case]]]:
    from bot.evaluate import load_cases

    paths = extra or [p for p in QUESTION_SETS if p.is_file()]
    out = []
    for p in paths:
        try:
            name = str(p.resolve().relative_to(ROOT.parent))
        except ValueError:
            name = str(p)
        out.append((name, load_cases(p)))
    return out


# ------------------------------------------------------------------ writing


def write_atomically(path: Path, text: str) -> None:
    """A temporary file beside the target, renamed over it: readers see the old file or the new
    one, never half of one. The old file's permissions are kept."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ the command


def apply(
    seeds_dir: Path,
    source: Path,
    *,
    check: bool = False,
    force: bool = False,
    settings: Settings | None = None,
    questions: list[Path] | None = None,
) -> int:
    """Merge, validate, check when asked, write. 0 merged (or nothing to merge), 1 refused
    (drafts, facts the cites lack, a regression), 2 a proposal that cannot be read."""
    from bot.search import Engine

    out, err = sys.stdout, sys.stderr
    try:
        proposals = read_proposals(source)
        existing = {e.id for e in read_seeds(seeds_dir).faq}
        pending = drafts(proposals, existing)
        if pending:
            named = ", ".join(f"{p.id} (line {p.line})" for p in pending)
            print(f"refused: {source} holds draft(s) {named}: write each answer from its cites "
                  "and remove `draft = true`, or leave the draft out", file=err)
            return 1
        result = merge(seeds_dir, proposals, source)
    except ProposalError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if not result.texts:
        print(f"{source}: {result.describe()}; {seeds_dir / FAQ_FILE} unchanged", file=out)
        return 0
    with tempfile.TemporaryDirectory(prefix="docbot-apply-") as tmp:
        copy = merged_seeds(seeds_dir, result, Path(tmp) / "seeds")
        db = validate(seeds_dir, copy, Path(tmp) / "merged.sqlite3", source)
        touched = set(result.touched)
        errors = [f for f in lint_seeds(read_seeds(copy))
                  if f.severity == ERROR and f.concerns(touched)]
        for f in errors:
            print(f"lint: {str(f).replace(str(copy), str(seeds_dir))}", file=err)
        worse: list[Change] = []
        if check:
            sets = question_sets(questions)
            if not sets:
                print("error: --check found no question sets (tests/data/*.jsonl of a checkout); "
                      "name one with --questions", file=err)
                return 2
            current = Engine(build(seeds_dir, Path(tmp) / "current.sqlite3"), settings)
            changes, asked = compare(sets, current, Engine(db, settings))
            worse = [c for c in changes if not c.better]
            better = [c for c in changes if c.better]
            print(f"check: {asked} questions in {len(sets)} set(s): {len(better)} better, "
                  f"{len(worse)} worse", file=out)
            for label, group in (("worse", worse), ("better", better)):
                for c in group:
                    print(f"  {label}: {c.describe()}", file=out)
        reasons = []
        if errors:
            reasons.append(f"the lint finds {len(errors)} error(s) in the merged entries")
        if worse:
            reasons.append(f"{len(worse)} question(s) answer worse after the merge")
        if reasons and not force:
            print(f"refused: {'; '.join(reasons)}; {', '.join(map(str, result.texts))} "
                  "unchanged (--force to merge anyway)", file=err)
            return 1
    for path, text in result.texts.items():
        write_atomically(path, text)
    names = ", ".join(str(p) for p in result.texts)
    print(f"merged {source} into {names}: {result.describe()}. The index rebuilds on the next "
          "command; a running bot takes it with /reload", file=out)
    return 0


def main(args: argparse.Namespace, cfg: Config) -> int:
    """The `faq apply` command."""
    return apply(
        cfg.seeds, args.file, check=args.check, force=args.force, settings=cfg.matching,
        questions=args.questions,
    )
