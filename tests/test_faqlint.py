"""bot.faqlint: an answer may state only the numbers and names its cited sentences hold, and
entries that get in each other's way are named. The bundled FAQ has no errors."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.faqlint import (
    BETTER_CITE,
    CITE,
    DUPLICATE,
    ERROR,
    FEW,
    STEALS,
    UNSUPPORTED,
    WARNING,
    Finding,
    document_names,
    lint,
    lint_seeds,
    unsupported,
)
from bot.ingest import read_seeds
from bot.search import Engine
from tests.conftest import MakeSeeds

STORM = """The storm reached Kelby harbour on Monday evening, and 24 boats broke their moorings. \
Harbour master Ivo Brandt said the sea wall held.

Three families left the lower town for the church hall. \
The council opened the sports centre at Rennick for anyone else who needed a bed.

Power returned to the town on Wednesday morning. \
The ferry to Askay will run again from Friday, the operator said.
"""
STORM_META = 'title = "Storm hits Kelby"\npublisher = "Kelby Courier"\ndate = "2025"\n'


def entry(
    eid: str, question: str, answer: str, cites: list[str], phrasings: list[str] | None = None
) -> str:
    phrasings = phrasings if phrasings is not None else [
        f"{question} please", f"tell me: {question}", f"i want to know {question}",
        f"{question} (asking for a friend)",
    ]
    quoted = ", ".join(f'"{c}"' for c in cites)
    plist = ", ".join(f'"{p}"' for p in phrasings)
    return (f'[[faq]]\nid = "{eid}"\nquestion = "{question}"\nphrasings = [{plist}]\n'
            f'answer = "{answer}"\ncites = [{quoted}]\n\n')


def storm(tmp_path: Path, make_seeds: MakeSeeds, *entries: str) -> Path:
    return make_seeds(tmp_path, {"kelby-storm.txt": STORM, "kelby-storm.toml": STORM_META,
                                 "faq.toml": "# the storm FAQ\n\n" + "".join(entries)})


BOATS = entry("boats", "How many boats broke loose?", "24 boats broke their moorings.",
              ["24 boats broke their moorings"])
SHELTER = entry(
    "shelter", "Where could people sleep?",
    "The council opened the sports centre at Rennick for anyone who needed a bed.",
    ["opened the sports centre at Rennick"],
)


def kinds(findings: list[Finding]) -> Counter[tuple[str, str]]:
    return Counter((f.severity, f.kind) for f in findings)


# ------------------------------------------------------------------ the bundled FAQ


def test_the_bundled_faq_has_no_errors(real_seeds: Path, engine: Engine) -> None:
    findings = lint_seeds(read_seeds(real_seeds), engine)
    errors = [str(f) for f in findings if f.severity == ERROR]
    assert errors == []
    assert all(f.severity == WARNING for f in findings)


# ------------------------------------------------------------------ what an answer states


@pytest.mark.parametrize(
    ("answer", "cited", "missing"),
    [
        # digits are literal: 24 is not 240, nor 2.4
        ("24 boats broke loose.", ["24 boats broke their moorings."], []),
        ("240 boats broke loose.", ["24 boats broke their moorings."], [("number", "240")]),
        # spelled numbers meet digits either way round
        ("Twenty-four boats broke loose.", ["24 boats broke their moorings."], []),
        ("24 boats broke loose.", ["Twenty-four boats broke their moorings."], []),
        ("Three families left.", ["3 families left the lower town."], []),
        ("Four families left.", ["Three families left the lower town."], [("number", "Four")]),
        # "one" and "first" are seldom numbers in prose
        ("It was one of the boats that went first.", ["A boat broke loose."], []),
        # a possessive, a hyphenated name, curly apostrophes
        ("Brandt's wall held.", ["Harbour master Ivo Brandt said the sea wall held."], []),
        ("Assad\u2019s forces left al-Qaim.", ["al-Assad's army fled through al-Qaim."], []),
        ("Kurdish-led forces.", ["support for Kurdish-led forces"], []),
        # a sentence's opening English word is no name; a name in the middle is checked
        ("Yes. The ferry runs from Friday.", ["The ferry will run again from Friday."], []),
        ("The ferry runs from Monday.", ["The ferry will run again from Friday."],
         [("name", "Monday")]),
        ("Erdogan said the wall held.", ["Ivo Brandt said the sea wall held."],
         [("name", "Erdogan")]),
        # a number that is part of a time
        ("They celebrated past 3am.", ["celebrating even past 3am"], []),
        ("They celebrated past 4am.", ["celebrating even past 3am"], [("number", "4")]),
    ],
)
def test_the_numbers_and_names_of_an_answer_are_looked_for_in_its_cites(
    answer: str, cited: list[str], missing: list[tuple[str, str]]
) -> None:
    assert unsupported(answer, cited) == missing


def test_a_name_the_document_uses_is_one_even_opening_a_sentence(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """"Monday" and "Harbour" are English words, but the article capitalises "Monday" inside a
    sentence: an answer opening with it states a name."""
    seeds = read_seeds(storm(tmp_path, make_seeds, BOATS))
    known = document_names(seeds.documents)
    assert "monday" in known and "the" not in known
    assert unsupported("Monday was calm.", ["Power returned on Wednesday."], known) == [
        ("name", "Monday")
    ]


def test_another_name_of_the_same_thing_supports_a_name() -> None:
    groups = [("United States", "US", "America")]
    said = "The US would stay out."
    assert unsupported(said, ["The United States would cease."], groups=groups) == []
    assert unsupported(said, ["Washington would cease."], groups=groups) == [("name", "US")]


def test_he_said_borrows_the_name_of_the_sentence_it_refers_to(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    text = ("Harbour master Ivo Brandt inspected the wall. He added that the wall had held.\n\n"
            "Nobody else was named here.\n")
    said = entry("wall", "Did the wall hold?", "Ivo Brandt said the wall held.",
                 ["He added that the wall had held"])
    folder = make_seeds(tmp_path, {"wall.txt": text, "faq.toml": said})
    assert lint_seeds(read_seeds(folder)) == []


# ------------------------------------------------------------------ planted errors


def test_planted_facts_are_errors_naming_entry_and_word(
    real_seeds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two answers of the real FAQ made to say more than their cites: a number and a name."""
    seeds = Path(shutil.copytree(real_seeds, tmp_path / "seeds"))
    faq = seeds / "faq.toml"
    text = faq.read_text(encoding="utf-8")
    took = ('answer = "Hayat Tahrir al-Sham (HTS), a Syrian opposition group, took over Homs '
            'late on Saturday night."')
    seven = 'answer = "At least seven civilians were killed near the city of Homs'
    assert took in text and seven in text
    text = text.replace(took, took[:-2] + ' with 3,000 fighters."')
    text = text.replace(seven, seven.replace("Homs", "Homs, Erdogan said,"))
    faq.write_text(text, encoding="utf-8")

    assert main(["faq", "lint", "--seeds", str(seeds), "--db", str(tmp_path / "i.db")]) == 1
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if ": error: " in line]
    assert len(errors) == 2, out
    number, name = errors
    assert re.match(rf"{re.escape(str(faq))}:\d+: error: homs_captured_by: .*'3,000'", number)
    assert re.match(rf"{re.escape(str(faq))}:\d+: error: civilians_killed: .*'Erdogan'", name)
    assert out[-1].startswith("2 error(s)")


# ------------------------------------------------------------------ the other checks


def test_two_cites_of_one_sentence_are_an_error_and_the_rest_still_runs(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    twice = entry("boats_twice", "How many boats?", "24 boats broke their moorings.",
                  ["24 boats broke", "broke their moorings"])
    added = entry("ferry", "When does the ferry run?", "The ferry to Askay runs from Sunday.",
                  ["The ferry to Askay will run again from Friday"])
    findings = lint(storm(tmp_path, make_seeds, twice, added))
    [cite] = [f for f in findings if f.kind == CITE]
    assert cite.severity == ERROR and cite.entry == "boats_twice"
    assert "the same sentence" in cite.message and cite.line > 0
    [fact] = [f for f in findings if f.kind == UNSUPPORTED]
    assert fact.entry == "ferry" and "'Sunday'" in fact.message
    # the engine's checks wait for seeds that build, and say so
    assert any("wait until the seeds build" in f.message for f in findings)


def test_a_phrasing_in_two_entries_is_named(tmp_path: Path, make_seeds: MakeSeeds) -> None:
    ferry = entry("ferry", "When does the ferry run again?", "From Friday.",
                  ["The ferry to Askay will run again from Friday"],
                  ["ferry askay", "when do boats go to askay", "is the ferry running",
                   "How many boats broke loose?"])
    findings = lint_seeds(read_seeds(storm(tmp_path, make_seeds, BOATS, ferry)))
    [dup] = [f for f in findings if f.kind == DUPLICATE]
    assert "'how many boats broke loose?'" in dup.message
    assert "boats and ferry" in dup.message


def test_entries_that_steal_each_others_questions_are_named_as_a_pair(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """The shelter entry asked like the boats entry: the engine sends the boats question to
    whichever wins, and one of them loses it."""
    thief = entry(
        "shelter", "Where could people sleep?",
        "The council opened the sports centre at Rennick for anyone who needed a bed.",
        ["opened the sports centre at Rennick"],
        ["where is the shelter", "where can i sleep tonight", "which hall is open",
         "how many boats broke loose from their moorings in the storm"],
    )
    findings = lint(storm(tmp_path, make_seeds, BOATS, thief))
    [steal] = [f for f in findings if f.kind == STEALS]
    assert steal.severity == WARNING
    assert "entries boats and shelter steal each other's questions" in steal.message
    assert "'how many boats broke loose from their moorings in the storm' (shelter's)" in (
        steal.message
    )


def test_an_entry_with_few_phrasings_is_a_warning(tmp_path: Path, make_seeds: MakeSeeds) -> None:
    few = entry("ferry", "When does the ferry run again?", "From Friday.",
                ["The ferry to Askay will run again from Friday"], ["ferry askay"])
    findings = lint_seeds(read_seeds(storm(tmp_path, make_seeds, BOATS, few)))
    assert kinds(findings) == {(WARNING, FEW): 1}
    assert "only 1 phrasing(s)" in findings[0].message and findings[0].entry == "ferry"


def test_a_cite_that_is_not_the_best_support_names_the_better_sentence(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """The answer is the sports-centre sentence, but the entry cites the families one."""
    off = entry(
        "beds", "Where could people sleep?",
        "The council opened the sports centre for anyone else who needed a bed.",
        ["Three families left the lower town"],
    )
    findings = lint(storm(tmp_path, make_seeds, off))
    [better] = [f for f in findings if f.kind == BETTER_CITE]
    assert better.entry == "beds" and better.severity == WARNING
    assert "paragraph 2, sentence 2" in better.message and "sports centre" in better.message


def test_a_clean_faq_lints_clean_and_exits_0(
    tmp_path: Path, make_seeds: MakeSeeds, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = storm(tmp_path, make_seeds, BOATS, SHELTER)
    assert main(["faq", "lint", "--seeds", str(seeds), "--db", str(tmp_path / "i.db")]) == 0
    assert capsys.readouterr().out.strip() == "0 error(s), 0 warning(s)"


def test_index_prints_the_lint_as_warnings_and_builds_anyway(
    tmp_path: Path, make_seeds: MakeSeeds, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = entry("ferry", "When does the ferry run again?", "The ferry runs from Sunday.",
                  ["The ferry to Askay will run again from Friday"])
    seeds = storm(tmp_path, make_seeds, BOATS, wrong)
    db = tmp_path / "index.sqlite3"
    assert main(["index", "--seeds", str(seeds), "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("built: ")
    [line] = captured.err.splitlines()
    assert line.startswith("warning: faq lint: ") and "ferry" in line and "'Sunday'" in line
    assert db.is_file()


def test_index_lints_again_only_when_the_faq_or_aliases_changed(
    tmp_path: Path, make_seeds: MakeSeeds, capsys: pytest.CaptureFixture[str]
) -> None:
    """An article added to a large library must not cost a lint of the whole FAQ; an edit of
    the FAQ or the aliases is what the editor needs to hear about."""
    wrong = entry("ferry", "When does the ferry run again?", "The ferry runs from Sunday.",
                  ["The ferry to Askay will run again from Friday"])
    seeds = storm(tmp_path, make_seeds, BOATS, wrong)
    db = tmp_path / "index.sqlite3"
    args = ["index", "--seeds", str(seeds), "--db", str(db)]
    assert main(args) == 0
    assert "faq lint" in capsys.readouterr().err
    (seeds / "gale.txt").write_text("A gale closed the pier on Monday.\n", encoding="utf-8")
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("built: ") and captured.err == ""
    with (seeds / "faq.toml").open("a", encoding="utf-8") as faq:
        faq.write("\n# reviewed\n")
    assert main(args) == 0
    assert "'Sunday'" in capsys.readouterr().err
