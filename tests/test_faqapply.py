"""bot.faqapply: reviewed proposals merge into faq.toml adding lines and changing no other byte,
drafts and proposals that break the build or say more than their cites are refused, and
`--check` refuses a merge that makes the project's questions answer worse."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.evaluate import rank_of
from bot.index import build
from bot.ingest import read_seeds
from bot.search import Engine
from tests.conftest import ROOT

# A question of the project's own set that its FAQ entry answers right, first: proposing it as
# a phrasing of an unrelated entry steals it.
STOLEN = "What did Trump say about Syria?"
STOLEN_FROM = "trump_syria_stance"
THIEF = "pedersen_doha"
# A question no entry leads, which homs_captured_by answers once it is one of its phrasings.
NEW_PHRASING = "who are the new masters of homs"


@pytest.fixture
def seeds(real_seeds: Path, tmp_path: Path) -> Path:
    """A private copy of the real seeds, for the merge to write into."""
    return Path(shutil.copytree(real_seeds, tmp_path / "seeds"))


def proposal(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proposals.toml"
    path.write_text(text, encoding="utf-8")
    return path


def apply(seeds: Path, tmp_path: Path, path: Path, *extra: str) -> int:
    return main(["faq", "apply", str(path), "--seeds", str(seeds),
                 "--db", str(tmp_path / "index.sqlite3"), *extra])


def engine_on(seeds: Path, tmp_path: Path, name: str) -> Engine:
    return Engine(build(seeds, tmp_path / f"{name}.sqlite3"))


# ------------------------------------------------------------------ merging


def test_a_phrasing_added_changes_no_other_byte(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faq = seeds / "faq.toml"
    before = faq.read_text(encoding="utf-8")
    assert before.lstrip().startswith("#")  # the file's comments are what must survive
    path = proposal(tmp_path, """# proposed from the question log: asked 3 times
[[faq]]
id = "homs_captured_by"
question = "Who captured Homs?"   # as in faq.toml: kept, not changed
phrasings = [
  "which outfit grabbed homs in the end",
  "Who took Homs",   # already there (case aside): skipped
]
""")
    assert apply(seeds, tmp_path, path) == 0
    after = faq.read_text(encoding="utf-8")
    ops = difflib.SequenceMatcher(
        None, before.splitlines(keepends=True), after.splitlines(keepends=True), autojunk=False
    ).get_opcodes()
    changed = [(tag, after.splitlines(keepends=True)[j1:j2]) for tag, _, _, j1, j2 in ops
               if tag != "equal"]
    assert changed == [("insert", ['  "which outfit grabbed homs in the end",\n'])]
    out = capsys.readouterr().out
    assert "1 phrasing(s) added" in out and "1 already there" in out
    assert not [p for p in seeds.iterdir() if p.name.endswith(".tmp")]  # no temp file left


def test_a_new_entry_is_appended_in_the_house_style(seeds: Path, tmp_path: Path) -> None:
    faq = seeds / "faq.toml"
    before = faq.read_text(encoding="utf-8")
    path = proposal(tmp_path, """[[faq]]
id = "homs_gunfire_3am"
question = "Until when was there celebratory gunfire in Homs?"
phrasings = ["how late did they celebrate in homs", "celebrations in homs after midnight",
             "were people celebrating all night in homs", "gunfire in homs at night"]
answer = "People were out in the streets celebrating even past 3am."
cites = ["celebrating its capture from Assad's forces, even past 3am"]
""")
    assert apply(seeds, tmp_path, path) == 0
    after = faq.read_text(encoding="utf-8")
    assert after.startswith(before)
    assert after[len(before):] == """
[[faq]]
id = "homs_gunfire_3am"
question = "Until when was there celebratory gunfire in Homs?"
phrasings = [
  "how late did they celebrate in homs",
  "celebrations in homs after midnight",
  "were people celebrating all night in homs",
  "gunfire in homs at night",
]
answer = "People were out in the streets celebrating even past 3am."
cites = [
  "celebrating its capture from Assad's forces, even past 3am",
]
"""
    assert [e.id for e in read_seeds(seeds).faq][-1] == "homs_gunfire_3am"


def test_drafts_are_refused_by_name(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (seeds / "faq.toml").read_bytes()
    path = proposal(tmp_path, """[[faq]]
id = "homs_captured_by"
phrasings = ["who holds homs today"]

[[faq]]
id = "draft_one"
draft = true
question = "Who fled to Iraq?"
phrasings = ["who went to iraq"]
answer = "Soldiers fled into Iraq."
cites = ["continuing to flee into Iraq"]

[[faq]]
id = "draft_two"
question = "Where is Qusayr?"
phrasings = ["qusayr"]
answer = ""
cites = ["the strategic city of Qusayr"]
""")
    assert apply(seeds, tmp_path, path) == 1
    err = capsys.readouterr().err
    assert "draft_one (line 5)" in err and "draft_two (line 13)" in err
    assert "homs_captured_by" not in err
    assert (seeds / "faq.toml").read_bytes() == before  # nothing merged, not even the good one


def test_a_cite_that_matches_no_sentence_names_file_and_line(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (seeds / "faq.toml").read_bytes()
    path = proposal(tmp_path, """[[faq]]
id = "homs_captured_by"
cites = ["a sentence the article never wrote"]
""")
    assert apply(seeds, tmp_path, path) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {seeds / 'faq.toml'}:")
    assert "a sentence the article never wrote" in err and "nothing was written" in err
    assert (seeds / "faq.toml").read_bytes() == before


def test_an_answer_that_says_more_than_its_cites_is_refused_unless_forced(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = proposal(tmp_path, """[[faq]]
id = "iraq_crossing_count"
question = "How many soldiers fled into Iraq?"
phrasings = ["soldiers into iraq", "how many fled to iraq", "iraq border soldiers",
             "al-qaim soldiers"]
answer = "About 2,000 soldiers are continuing to flee into Iraq."
cites = ["continuing to flee into Iraq"]
""")
    before = (seeds / "faq.toml").read_bytes()
    assert apply(seeds, tmp_path, path) == 1
    err = capsys.readouterr().err
    assert "iraq_crossing_count" in err and "'2,000'" in err and "refused" in err
    assert (seeds / "faq.toml").read_bytes() == before
    assert apply(seeds, tmp_path, path, "--force") == 0
    assert "iraq_crossing_count" in [e.id for e in read_seeds(seeds).faq]


def test_a_changed_answer_is_not_a_proposal(
    seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = proposal(tmp_path, """[[faq]]
id = "homs_captured_by"
answer = "Somebody took Homs."
phrasings = ["who holds homs today"]
""")
    assert apply(seeds, tmp_path, path) == 2
    assert "its answer differs" in capsys.readouterr().err


# ------------------------------------------------------------------ --check


def test_check_refuses_a_proposal_that_steals_another_entrys_question(
    seeds: Path, tmp_path: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Entry A (pedersen_doha) given, word for word, a question of the project's set that
    entry B (trump_syria_stance) answers right: A now leads it with the wrong sentences."""
    answer = engine.ask(STOLEN)
    assert answer.faq is not None and answer.faq.id == STOLEN_FROM  # B answers it today...
    cases = [line for line in (ROOT / "tests/data/questions.jsonl").read_text().splitlines()
             if f'"q": "{STOLEN}"' in line]
    assert len(cases) == 1  # ...and it is one of the project's questions
    before = (seeds / "faq.toml").read_bytes()
    path = proposal(tmp_path, f'[[faq]]\nid = "{THIEF}"\nphrasings = ["{STOLEN}"]\n')
    assert apply(seeds, tmp_path, path, "--check") == 1
    captured = capsys.readouterr()
    worse = [line for line in captured.out.splitlines() if line.startswith("  worse: ")]
    assert any(STOLEN in line and f"(faq {STOLEN_FROM}) -> " in line
               and f"(faq {THIEF})" in line for line in worse), captured.out
    assert "refused: " in captured.err and "answer worse" in captured.err
    assert (seeds / "faq.toml").read_bytes() == before
    # told to, it merges anyway
    assert apply(seeds, tmp_path, path, "--check", "--force") == 0
    assert engine_on(seeds, tmp_path, "forced").ask(STOLEN).faq.id == THIEF


def test_a_clean_proposal_merges_and_the_rebuilt_index_answers_from_its_entry(
    seeds: Path, tmp_path: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = engine.ask(NEW_PHRASING)
    assert answer.faq is None or answer.faq.id != "homs_captured_by"  # not yet
    path = proposal(tmp_path, f"""# reviewed
[[faq]]
id = "homs_captured_by"
phrasings = ["{NEW_PHRASING}"]
""")
    questions = ROOT / "tests" / "data" / "questions.jsonl"
    assert apply(seeds, tmp_path, path, "--check", "--questions", str(questions)) == 0
    out = capsys.readouterr().out
    assert "check: 120 questions in 1 set(s)" in out and " 0 worse" in out
    after = engine_on(seeds, tmp_path, "merged").ask(NEW_PHRASING)
    assert after.faq is not None and after.faq.id == "homs_captured_by"
    assert rank_of(after, ["Hayat Tahrir al-Sham (HTS), took over the third city of Homs"]) == 1
