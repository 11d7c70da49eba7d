"""bot.index: the SQLite index is built atomically, rebuilt only when seeds change, and a broken
seed never takes down an index that was serving.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlite_utils

from bot.index import IndexStatus, build, ensure, resolve_cites
from bot.ingest import SeedError, read_document, read_seeds
from bot.search import Engine
from tests.conftest import ARTICLE_NAME, SEEDS, MakeSeeds

FLOOD = """The Vell river burst its banks at Norwick on Tuesday night after three days of rain. \
Water rose to 1.8 metres in the market square.

Rescue boats from the county fire service carried 40 residents to the hill school. \
Nobody was hurt, the mayor, Ellen Marsh, said.

The old stone bridge was closed on Wednesday because engineers feared it could collapse. \
Residents were told to boil drinking water until Friday.

Insurers put the damage at four million pounds.
"""
FLOOD_META = 'title = "Vell river floods Norwick"\npublisher = "Norwick Gazette"\ndate = "2024"\n'
FLOOD_FAQ = """[[faq]]
id = "norwick_bridge"
question = "Why was the bridge in Norwick closed?"
phrasings = ["why did they shut the old stone bridge"]
answer = "Engineers feared the old stone bridge could collapse."
cites = ["engineers feared it could collapse"]
"""

TABLES = {"documents", "paragraphs", "sentences", "faq", "faq_phrasings", "faq_cites", "aliases"}


def _flood_seeds(tmp_path: Path, make_seeds: MakeSeeds, faq: str = FLOOD_FAQ) -> Path:
    return make_seeds(
        tmp_path, {"vell-flood.txt": FLOOD, "vell-flood.toml": FLOOD_META, "faq.toml": faq}
    )


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ------------------------------------------------------------------ schema


def test_build_creates_every_table_and_the_fts5_indexes(engine: Engine) -> None:
    db = sqlite_utils.Database(engine.db_path)
    names = set(db.table_names())
    assert names >= TABLES | {"meta", "sentences_fts", "faq_phrasings_fts"}
    sql = db["sentences_fts"].schema.lower()
    assert "fts5" in sql


def test_fts_search_finds_exactly_the_sentences_that_name_homs(engine: Engine) -> None:
    db = sqlite_utils.Database(engine.db_path)
    found = {r["id"] for r in db["sentences"].search("homs", quote=True)}
    expected = {
        r["id"] for r in db["sentences"].rows if re.search(r"\bhoms\b", r["text"], re.I)
    }
    assert len(expected) >= 5
    assert found == expected


def test_the_index_holds_every_sentence_of_the_article_verbatim(
    engine: Engine, article_path: Path
) -> None:
    db = sqlite_utils.Database(engine.db_path)
    rows = list(db["sentences"].rows_where("document = ?", [ARTICLE_NAME], order_by="id"))
    doc = read_document(article_path)
    assert [(r["paragraph"], r["sentence"], r["text"]) for r in rows] == [
        (s.paragraph, s.number, s.text) for s in doc.sentences
    ]
    source = article_path.read_text(encoding="utf-8")
    assert all(source[r["start"] : r["end"]] == r["text"] for r in rows)


# ------------------------------------------------------------------ FAQ cites


def _cite_error(tmp_path: Path, make_seeds: MakeSeeds, cite: str) -> SeedError:
    faq = FLOOD_FAQ.replace('"engineers feared it could collapse"', f'"{cite}"')
    seeds = _flood_seeds(tmp_path, make_seeds, faq)
    with pytest.raises(SeedError) as info:
        build(seeds, tmp_path / "index.sqlite3")
    return info.value


def test_a_cite_that_matches_no_sentence_names_the_entry_and_quotes_the_cite(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    error = _cite_error(tmp_path, make_seeds, "the bridge was swept away")
    message = str(error)
    assert "'norwick_bridge'" in message
    assert "'the bridge was swept away'" in message
    assert "matches no sentence" in message
    assert Path(error.path).name == "faq.toml" and error.line == 1


def test_a_cite_that_matches_two_sentences_is_rejected_as_ambiguous(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    error = _cite_error(tmp_path, make_seeds, "Residents")
    assert "'norwick_bridge'" in str(error)
    assert "matches 2 sentences" in str(error)


def test_a_cite_matches_across_curly_quotes_case_and_spacing(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """Cites are compared normalised, so a curator need not copy the exact quote marks."""
    text = "The mayor said \u201cwe  will rebuild\u201d on Friday.\n"
    faq = FLOOD_FAQ.replace('"engineers feared it could collapse"', "'SAID \"we will REBUILD\"'")
    seeds = make_seeds(tmp_path, {"mayor.txt": text, "faq.toml": faq})
    build(seeds, tmp_path / "index.sqlite3")
    db = sqlite_utils.Database(tmp_path / "index.sqlite3")
    assert [r["sentence_id"] for r in db["faq_cites"].rows] == [1]


def test_two_cites_of_one_entry_quoting_one_sentence_are_rejected_naming_both(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """The answer would show that sentence twice: the build fails, pointing at both cites."""
    cites = (
        'cites = [\n  "engineers feared it could collapse",\n  "Water rose to 1.8 metres",\n'
        '  "old stone bridge was closed on Wednesday",\n]'
    )
    faq = FLOOD_FAQ.replace('cites = ["engineers feared it could collapse"]', cites)
    seeds = _flood_seeds(tmp_path, make_seeds, faq)
    with pytest.raises(SeedError) as info:
        build(seeds, tmp_path / "index.sqlite3")
    error = info.value
    message = str(error)
    assert "FAQ entry 'norwick_bridge'" in message
    assert "cite 'engineers feared it could collapse' (line 7)" in message
    assert "cite 'old stone bridge was closed on Wednesday' (line 9)" in message
    assert "quote the same sentence (vell-flood, paragraph 3, sentence 1)" in message
    assert Path(error.path).name == "faq.toml" and error.line == 9
    assert _files(tmp_path) == {"seeds"}  # no index, not even a temporary file


def test_one_quote_cited_twice_on_one_line_is_rejected(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    faq = FLOOD_FAQ.replace('"engineers feared it could collapse"', '"Insurers", "Insurers"')
    with pytest.raises(SeedError, match=r"faq.toml:6: .*'Insurers' \(line 6\) and cite "):
        build(_flood_seeds(tmp_path, make_seeds, faq), tmp_path / "index.sqlite3")


def test_every_cite_of_the_bundled_faq_resolves_to_a_sentence_of_its_own(
    real_seeds: Path,
) -> None:
    seeds = read_seeds(real_seeds)
    cites = resolve_cites(seeds)
    assert all(len(set(refs)) == len(refs) for refs in cites.values())
    assert len(cites) == len(seeds.faq)


# ------------------------------------------------------------------ ensure / staleness


def test_ensure_builds_once_and_then_skips_while_the_seeds_are_unchanged(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds)
    db = tmp_path / "data" / "index.sqlite3"
    assert ensure(seeds, db) == IndexStatus(db, True)
    mtime = db.stat().st_mtime_ns
    assert ensure(seeds, db) == IndexStatus(db, False)
    assert db.stat().st_mtime_ns == mtime


def test_ensure_rebuilds_when_a_seed_changes(tmp_path: Path, make_seeds: MakeSeeds) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds)
    db = tmp_path / "index.sqlite3"
    ensure(seeds, db)
    make_seeds(tmp_path, {"vell-flood.txt": FLOOD + "\nA pelican was seen on the high street.\n"})
    status = ensure(seeds, db)
    assert status.built and not status.warning
    answer = Engine(db).ask("pelican")
    assert answer.answered
    assert answer.excerpts[0].text == "A pelican was seen on the high street."


def test_ensure_force_rebuilds_unchanged_seeds(tmp_path: Path, make_seeds: MakeSeeds) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds)
    db = tmp_path / "index.sqlite3"
    ensure(seeds, db)
    assert ensure(seeds, db, force=True).built


def test_ensure_rebuilds_an_index_file_that_is_not_a_database(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds)
    db = tmp_path / "index.sqlite3"
    db.write_bytes(b"not sqlite at all" * 100)
    assert ensure(seeds, db).built
    assert Engine(db).ask("rescue boats").answered


@pytest.mark.parametrize(
    "breakage",
    [
        {"faq.toml": "[[faq]\nid = 'x'\n"},
        {"vell-flood.txt": b"Caf\xe9 flooded.\n"},
        {"faq.toml": FLOOD_FAQ.replace("engineers feared it could collapse", "a dragon")},
    ],
    ids=["malformed-toml", "not-utf8", "bad-cite"],
)
def test_a_broken_seed_keeps_the_previous_index_serving_with_a_warning(
    tmp_path: Path, make_seeds: MakeSeeds, breakage: dict[str, str | bytes]
) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds)
    db = tmp_path / "index.sqlite3"
    ensure(seeds, db)
    before = db.read_bytes()
    make_seeds(tmp_path, breakage)
    status = ensure(seeds, db)
    assert status.built is False
    assert next(iter(breakage)) in status.warning
    assert db.read_bytes() == before
    answer = Engine(db).ask("how many residents did the rescue boats carry")
    assert answer.answered
    assert answer.excerpts[0].text.startswith("Rescue boats from the county fire service")


def test_a_missing_seeds_folder_keeps_the_previous_index_with_a_warning(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds)
    db = tmp_path / "index.sqlite3"
    ensure(seeds, db)
    shutil.rmtree(seeds)
    status = ensure(seeds, db)
    assert not status.built and status.warning
    assert Engine(db).ask("rescue boats").answered


def test_a_broken_seed_without_a_previous_index_raises(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "faq.toml": "[[faq]\n"})
    db = tmp_path / "index.sqlite3"
    with pytest.raises(SeedError, match=r"faq\.toml"):
        ensure(seeds, db)
    assert not db.exists()


def test_a_failed_build_leaves_no_temporary_files_beside_the_index(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """The cite check fails after the temporary database was created, so cleanup is exercised."""
    seeds = _flood_seeds(tmp_path, make_seeds)
    folder = tmp_path / "data"
    db = folder / "index.sqlite3"
    build(seeds, db)
    make_seeds(tmp_path, {"faq.toml": FLOOD_FAQ.replace("could collapse", "might fly")})
    with pytest.raises(SeedError):
        build(seeds, db)
    assert _files(folder) == {"index.sqlite3"}


def test_a_failed_first_build_leaves_the_folder_empty(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = _flood_seeds(tmp_path, make_seeds, FLOOD_FAQ.replace("could collapse", "might fly"))
    folder = tmp_path / "data"
    with pytest.raises(SeedError):
        build(seeds, folder / "index.sqlite3")
    assert _files(folder) == set()


# ------------------------------------------------------------------ more than one document


@pytest.fixture
def two_documents(tmp_path: Path, make_seeds: MakeSeeds) -> Engine:
    """The real article beside a second, fictional one with its own FAQ entry."""
    seeds = _flood_seeds(tmp_path, make_seeds)
    for suffix in (".txt", ".toml"):
        shutil.copy(SEEDS / f"{ARTICLE_NAME}{suffix}", seeds)
    db = tmp_path / "index.sqlite3"
    build(seeds, db)
    return Engine(db)


def test_a_second_document_is_indexed_with_its_own_paragraphs(two_documents: Engine) -> None:
    db = sqlite_utils.Database(two_documents.db_path)
    docs = {r["id"]: r for r in db["documents"].rows}
    assert set(docs) == {ARTICLE_NAME, "vell-flood"}
    assert docs["vell-flood"]["title"] == "Vell river floods Norwick"
    assert docs["vell-flood"]["publisher"] == "Norwick Gazette"
    flood = two_documents.documents["vell-flood"]
    assert (flood.paragraphs, flood.sentences) == (4, 7)


def test_fts_search_reaches_the_second_document(two_documents: Engine) -> None:
    db = sqlite_utils.Database(two_documents.db_path)
    rows = list(db["sentences"].search("pounds", quote=True))
    assert [(r["document"], r["paragraph"], r["sentence"]) for r in rows] == [("vell-flood", 4, 1)]


def test_a_faq_cite_in_the_second_document_resolves_to_its_sentence(
    two_documents: Engine,
) -> None:
    db = sqlite_utils.Database(two_documents.db_path)
    (cite,) = list(db["faq_cites"].rows_where("faq = ?", ["norwick_bridge"]))
    sentence = db["sentences"].get(cite["sentence_id"])
    assert (sentence["document"], sentence["paragraph"], sentence["sentence"]) == (
        "vell-flood",
        3,
        1,
    )


def test_a_faq_answer_from_the_second_document_cites_its_paragraph(
    two_documents: Engine,
) -> None:
    answer = two_documents.ask("why was the old stone bridge in Norwick closed")
    assert answer.answered
    assert answer.faq is not None and answer.faq.id == "norwick_bridge"
    first = answer.excerpts[0]
    assert (first.document, first.paragraph, first.sentence) == ("vell-flood", 3, 1)
    assert first.text.startswith("The old stone bridge was closed on Wednesday")


def test_a_direct_answer_from_the_second_document_cites_its_paragraph(
    two_documents: Engine,
) -> None:
    answer = two_documents.ask("how many residents did the rescue boats carry")
    assert answer.answered and answer.faq is None
    first = answer.excerpts[0]
    assert (first.document, first.paragraph, first.sentence) == ("vell-flood", 2, 1)


def test_the_first_document_still_answers_beside_a_second(two_documents: Engine) -> None:
    answer = two_documents.ask("who took over Homs")
    assert answer.answered
    assert answer.excerpts[0].document == ARTICLE_NAME
    assert "Homs" in answer.excerpts[0].text


def test_seeds_without_any_faq_file_build_an_index_the_engine_can_open(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """FAQ and aliases are optional: a folder holding just one document must still work."""
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD})
    db = build(seeds, tmp_path / "index.sqlite3")
    assert set(sqlite_utils.Database(db).table_names()) >= TABLES
    answer = Engine(db).ask("how many residents did the rescue boats carry")
    assert answer.answered
    assert answer.excerpts[0].paragraph == 2
