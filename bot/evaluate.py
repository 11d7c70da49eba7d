"""Score a question set (the format of shared/eval/dev-questions.jsonl) against the engine."""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answer import Answer
from bot.calibrate import expected_calibration_error, fit_platt
from bot.index import build
from bot.ingest import is_curated, seed_files
from bot.search import Engine, Settings
from bot.text import normalise


@dataclass(slots=True)
class Case:
    id: str
    q: str
    gold: list[str]
    kind: str


@dataclass(slots=True)
class Result:
    case: Case
    answer: Answer
    rank: int | None  # 1-based rank of the first right excerpt, None when none is right


@dataclass(slots=True)
class Report:
    results: list[Result] = field(default_factory=list)

    def _select(self, in_scope: bool, kind: str | None) -> list[Result]:
        return [
            r
            for r in self.results
            if bool(r.case.gold) == in_scope and (kind is None or r.case.kind == kind)
        ]

    def _in(self, kind: str | None = None) -> list[Result]:
        return self._select(True, kind)

    def _oos(self, kind: str | None = None) -> list[Result]:
        return self._select(False, kind)

    def figures(self, kind: str | None = None) -> dict[str, Any]:
        ins, oos = self._in(kind), self._oos(kind)
        n = len(ins)

        def share(k: int) -> float:
            return sum(1 for r in ins if r.rank and r.rank <= k) / n if n else 0.0

        return {
            "questions": len(ins) + len(oos),
            "in_scope": n,
            "top1": round(share(1), 4),
            "top3": round(share(3), 4),
            "mrr": round(sum(1 / r.rank for r in ins if r.rank) / n, 4) if n else 0.0,
            "in_scope_refused": round(sum(1 for r in ins if not r.answer.answered) / n, 4)
            if n
            else 0.0,
            "out_of_scope": len(oos),
            "oos_refused": round(sum(1 for r in oos if not r.answer.answered) / len(oos), 4)
            if oos
            else None,
        }

    def calibration_error(self) -> float:
        """ECE of the stated confidence against being right (an oos answer is never right)."""
        probs = [r.answer.confidence for r in self.results]
        return expected_calibration_error(probs, [r.rank == 1 for r in self.results])

    def fit(self) -> tuple[float, float]:
        """Platt parameters for this set's raw scores (the engine must run with threshold 0)."""
        return fit_platt([r.answer.raw for r in self.results], [r.rank == 1 for r in self.results])

    def misses(self) -> list[Result]:
        return [
            r
            for r in self.results
            if (r.case.gold and r.rank != 1) or (not r.case.gold and r.answer.answered)
        ]

    def to_json(self) -> dict[str, Any]:
        kinds = sorted({r.case.kind for r in self.results})
        return {
            "overall": {**self.figures(), "calibration_error": round(self.calibration_error(), 4)},
            "kinds": {k: self.figures(k) for k in kinds},
            "misses": [
                {
                    "id": r.case.id,
                    "kind": r.case.kind,
                    "q": r.case.q,
                    "rank": r.rank,
                    "answered": r.answer.answered,
                    "confidence": round(r.answer.confidence, 3),
                    "returned": [e.text for e in r.answer.excerpts[:3]],
                }
                for r in self.misses()
            ],
        }


def load_cases(path: Path) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            cases.append(Case(str(d["id"]), d["q"], list(d["gold"]), d.get("kind", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a question record ({exc})") from exc
    return cases


def rank_of(answer: Answer, gold: list[str]) -> int | None:
    golds = [normalise(g) for g in gold]
    if not answer.answered:
        return None
    for i, e in enumerate(answer.excerpts, start=1):
        text = normalise(e.text)
        if any(g in text for g in golds):
            return i
    return None


def evaluate(engine: Engine, cases: list[Case]) -> Report:
    report = Report()
    for case in cases:
        answer = engine.ask(case.q)
        report.results.append(Result(case, answer, rank_of(answer, case.gold)))
    return report


def format_report(report: Report) -> str:
    o = report.figures()
    lines = [
        f"questions {o['questions']}  in scope {o['in_scope']}  out of scope {o['out_of_scope']}",
        f"top-1 {o['top1']:.3f}  top-3 {o['top3']:.3f}  MRR {o['mrr']:.3f}  "
        f"in-scope refused {o['in_scope_refused']:.3f}  "
        f"out-of-scope refused {o['oos_refused'] if o['oos_refused'] is not None else '-'}  "
        f"calibration error {report.calibration_error():.3f}",
        "",
        f"{'kind':<11}{'n':>4}{'top-1':>8}{'top-3':>8}{'MRR':>8}{'refused':>9}",
    ]
    for kind in sorted({r.case.kind for r in report.results}):
        f = report.figures(kind)
        if f["in_scope"]:
            lines.append(
                f"{kind:<11}{f['in_scope']:>4}{f['top1']:>8.3f}{f['top3']:>8.3f}"
                f"{f['mrr']:>8.3f}{f['in_scope_refused']:>9.3f}"
            )
        else:
            lines.append(f"{kind:<11}{f['out_of_scope']:>4}{'':>24}{f['oos_refused']:>9.3f}")
    misses = report.misses()
    lines += ["", f"misses: {len(misses)}"]
    for r in misses:
        what = "refused" if not r.answer.answered else f"rank {r.rank or '-'}"
        lines.append(f"- {r.case.id} [{r.case.kind}] {r.case.q!r}: {what} "
                     f"(confidence {r.answer.confidence:.2f})")
        for e in r.answer.excerpts[:3]:
            lines.append(f"    ¶{e.paragraph}.{e.sentence} {e.text[:110]}")
    return "\n".join(lines)


# ------------------------------------------------------------------ across documents

QUESTIONS = "questions.jsonl"
SPLIT = "split.toml"


@dataclass(slots=True)
class DocumentReport:
    """One document's question set scored against that document alone."""

    name: str
    report: Report
    group: str = ""  # "tune" or "held_out" when the folder's split.toml says so


def build_engine(
    seed_paths: list[Path], workdir: Path, settings: Settings, *, uncurated: bool
) -> Engine:
    """An engine on just these seed files (without the curated FAQ and aliases when asked)."""
    seeds = workdir / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    for path in seed_paths:
        if not (uncurated and is_curated(path)):
            shutil.copy2(path, seeds / path.name)
    db = build(seeds, workdir / "index.sqlite3")
    return Engine(db, settings)


def evaluate_seeds(
    seeds_dir: Path, cases: list[Case], settings: Settings, *, uncurated: bool
) -> Report:
    """A question set against a seeds folder, built afresh in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="docbot-eval-") as tmp:
        engine = build_engine(seed_files(seeds_dir), Path(tmp), settings, uncurated=uncurated)
        return evaluate(engine, cases)


def evaluate_folder(folder: Path, settings: Settings, *, uncurated: bool) -> list[DocumentReport]:
    """Every sub-folder that holds a `questions.jsonl`, scored against its own documents only.

    A `split.toml` beside them (`tune = [...]`, `held_out = [...]`) names which documents the
    engine was tuned on, so the pooled figures can be told apart.
    """
    split: dict[str, str] = {}
    if (folder / SPLIT).is_file():
        data = tomllib.loads((folder / SPLIT).read_text(encoding="utf-8"))
        split = {name: group for group in ("tune", "held_out") for name in data.get(group, [])}
    out = []
    for sub in sorted(p for p in folder.iterdir() if (p / QUESTIONS).is_file()):
        cases = load_cases(sub / QUESTIONS)
        report = evaluate_seeds(sub, cases, settings, uncurated=uncurated)
        out.append(DocumentReport(sub.name, report, split.get(sub.name, "")))
    return out


def pooled(reports: list[DocumentReport], group: str | None = None) -> Report:
    """One report over several documents' results (all, or one split group)."""
    return Report(
        [r for d in reports if group is None or d.group == group for r in d.report.results]
    )


def format_documents(reports: list[DocumentReport]) -> str:
    """Per document and pooled: the headline figures and the calibration error."""
    header = (
        f"{'document':<28}{'group':<10}{'n':>4}{'top-1':>7}{'top-3':>7}{'MRR':>7}"
        f"{'in-ref':>8}{'oos-ref':>8}{'ECE':>7}"
    )
    lines = [header]

    def row(name: str, group: str, report: Report) -> str:
        f = report.figures()
        oos = f"{f['oos_refused']:.3f}" if f["oos_refused"] is not None else "-"
        return (
            f"{name:<28}{group:<10}{f['questions']:>4}{f['top1']:>7.3f}{f['top3']:>7.3f}"
            f"{f['mrr']:>7.3f}{f['in_scope_refused']:>8.3f}{oos:>8}"
            f"{report.calibration_error():>7.3f}"
        )

    for d in reports:
        lines.append(row(d.name, d.group, d.report))
    lines.append("")
    for group in sorted({d.group for d in reports if d.group}):
        lines.append(row(f"pooled {group}", group, pooled(reports, group)))
    lines.append(row("pooled all", "", pooled(reports)))
    return "\n".join(lines)


def documents_json(reports: list[DocumentReport]) -> dict[str, Any]:
    def figures(report: Report) -> dict[str, Any]:
        return {**report.figures(), "calibration_error": round(report.calibration_error(), 4)}

    groups = sorted({d.group for d in reports if d.group})
    return {
        "documents": {d.name: {"group": d.group, **figures(d.report)} for d in reports},
        "pooled": {
            **{g: figures(pooled(reports, g)) for g in groups},
            "all": figures(pooled(reports)),
        },
    }
