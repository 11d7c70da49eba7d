"""bot.index builds incrementally: only new and changed documents are split again (pysbd is most
of a build), unchanged ones keep their sentences and ids, and the build stays atomic and checked.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from bot import index, ingest
from bot.index import build, ensure, last_build, read_indexed_seeds, resolve_cites
from bot.ingest import Document, FaqEntry, Seeds, Sentence
from bot.search import Engine
from bot.search.packed import decode_sequence, ints
from bot.search.store import load
from tests.conftest import MakeSeeds
from tests.test_index import FLOOD, FLOOD_FAQ, FLOOD_META

HARBOUR = """Storm Alder sank two trawlers in Kelby harbour on Monday. \
The coastguard winched six fishermen from the water.

The harbour master, Tom Reyes, closed the north quay for a week. \
Divers found an oil leak near the lighthouse.

Repairs to the sea wall will cost the council two million pounds.
"""
SCHOOL = """Marlow primary school opened a new library on Thursday. \
It holds nine thousand books, most of them given by parents.

The head teacher, Amina Qureshi, said pupils had raised money for two years. \
A local author read to the youngest class.
"""
ORCHARD = """Frost ruined half the apple harvest at Pellow farm in April. \
The farmer, Gwen Attwood, lost forty tonnes of Bramleys.

Beekeepers said the cold snap also killed many queens.
"""
QUESTIONS = (
    "how many residents did the rescue boats carry",
    "why was the bridge in Norwick closed",
    "who closed the north quay",
    "how many books does the library hold",
    "what did divers find near the lighthouse",
)


class SplitCounter:
    """Records the documents whose paragraphs went through pysbd (bot.ingest.split_sentences)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seeds: Path) -> None:
        self.seeds = seeds
        self.paragraphs: list[str] = []
        real = ingest.split_sentences

        def counting(text: str, language: str = "en") -> list[tuple[int, int]]:
            self.paragraphs.append(text)
            return real(text, language)

        monkeypatch.setattr(ingest, "split_sentences", counting)

    def documents(self) -> set[str]:
        """The documents split since the last call: each paragraph is found in its file."""
        texts = {p.stem: p.read_text(encoding="utf-8") for p in self.seeds.glob("*.txt")}
        found = {name for para in self.paragraphs for name, t in texts.items() if para in t}
        assert len(found) >= bool(self.paragraphs)
        self.paragraphs = []
        return found


@pytest.fixture
def library(tmp_path: Path, make_seeds: MakeSeeds) -> tuple[Path, Path]:
    """Three documents and a FAQ, built once: (seeds folder, index)."""
    seeds = make_seeds(
        tmp_path,
        {
            "vell-flood.txt": FLOOD,
            "vell-flood.toml": FLOOD_META,
            "kelby-harbour.txt": HARBOUR,
            "marlow-school.txt": SCHOOL,
            "faq.toml": FLOOD_FAQ,
        },
    )
    db = tmp_path / "data" / "index.sqlite3"
    build(seeds, db)
    return seeds, db


def _sentences(db: Path) -> dict[int, tuple[Any, ...]]:
    """Every sentence row by id: (document, paragraph, sentence, start, end, text)."""
    con = sqlite3.connect(db)
    try:
        return {
            r[0]: tuple(r[1:])
            for r in con.execute(
                "select id, document, paragraph, sentence, start, end, text from sentences"
            )
        }
    finally:
        con.close()


def _by_place(db: Path) -> dict[tuple[str, int, int], tuple[Any, ...]]:
    """The sentences keyed by where they stand, ids left out (they differ after --force)."""
    return {(r[0], r[1], r[2]): r[3:] for r in _sentences(db).values()}


def _answers(db: Path, ids: bool = True) -> list[tuple[Any, ...]]:
    """What the engine answers to QUESTIONS: answered, FAQ entry, and each excerpt's place
    (and its sentence id, unless `ids` is False: a --force build renumbers them)."""
    engine = Engine(db)
    out = []
    for q in QUESTIONS:
        a = engine.ask(q)
        out.append(
            (
                q,
                a.answered,
                a.faq.id if a.faq else None,
                [(e.document, e.paragraph, e.sentence, e.sentence_id if ids else 0, e.text)
                 for e in a.excerpts],
            )
        )
    return out


def _table(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute(sql).fetchall())
    finally:
        con.close()


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ------------------------------------------------------------------ adding


def test_adding_a_document_splits_only_it_and_leaves_the_others_as_they_were(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    before, answers = _sentences(db), _answers(db)
    assert any(a[1] for a in answers) and {r[0] for r in before.values()} == {
        "vell-flood", "kelby-harbour", "marlow-school"
    }
    counter = SplitCounter(monkeypatch, seeds)
    make_seeds(seeds.parent, {"pellow-orchard.txt": ORCHARD})
    status = ensure(seeds, db)
    assert status.built and not status.warning
    assert counter.documents() == {"pellow-orchard"}
    after = _sentences(db)
    assert {i: r for i, r in after.items() if i in before} == before  # same ids, same sentences
    added = {i: r for i, r in after.items() if i not in before}
    assert {r[0] for r in added.values()} == {"pellow-orchard"}
    assert min(added) > max(before)  # fresh ids, after every id of the previous index
    # Nor were the others analysed again: their analysis came from the index as it stood.
    assert last_build(db) == {"split": ["pellow-orchard"], "analysed": ["pellow-orchard"],
                              "curated_changed": False, "how": "patched"}
    assert _answers(db) == answers
    answer = Engine(db).ask("how many tonnes of apples did Gwen Attwood lose")
    assert answer.answered and answer.excerpts[0].document == "pellow-orchard"


def test_an_incremental_index_holds_what_a_full_build_of_the_same_seeds_holds(
    library: tuple[Path, Path], make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    seeds, db = library
    make_seeds(seeds.parent, {"pellow-orchard.txt": ORCHARD})
    build(seeds, db)
    full = tmp_path / "full.sqlite3"
    build(seeds, full, force=True)
    assert _by_place(db) == _by_place(full)
    for sql in (
        "select id, path, title, publisher, date, language, url, hash from documents",
        "select * from paragraphs",
        "select grp, kind, rank, term from aliases",
        "select key, value from meta where key not in ('next_sentence_id', 'last_build')",
        "select f.faq, f.rank, s.document, s.paragraph, s.sentence from faq_cites f "
        "join sentences s on s.id = f.sentence_id",
    ):
        assert _table(db, sql) == _table(full, sql), sql
    assert _table(db, "select rowid, text from sentences_fts") == _table(
        db, "select id, text from sentences"
    )
    assert _analysis(db) == _analysis(full)
    assert _vocabulary(db) == _vocabulary(full)
    assert _postings(db) == _postings(full)
    assert _answers(db, ids=False) == _answers(full, ids=False)
    assert last_build(db)["how"] == "patched"


def _postings(db: Path) -> tuple[dict[str, set[Any]], dict[str, set[Any]], dict[Any, Any]]:
    """What the engine maps in, by key name and place (ids differ after --force): each key's
    sentences, each key's context sentences, and each sentence's (flags, idf mass)."""
    con = sqlite3.connect(db)
    try:
        stored = load(con, lambda sid: "")
        names = dict(con.execute("select id, name from keys"))
        place = {r[0]: tuple(r[1:]) for r in con.execute(
            "select id, document, paragraph, sentence from sentences")}
    finally:
        con.close()
    p = stored.postings

    def by_name(rows: Any) -> dict[str, set[Any]]:
        return {names[k]: {place[sid] for sid in rows[k]} for k in rows}

    columns = {place[sid]: (p.flags[p.position(sid)], round(p.weight[p.position(sid)], 9),
                            p.document_of(sid)) for sid in p.ids}
    return by_name(p.postings), by_name(p.context), columns


def _vocabulary(db: Path) -> list[tuple[Any, ...]]:
    return _table(db, "select data from arrays where name = 'vocabulary'")


def _analysis(db: Path) -> dict[tuple[str, int, int], tuple[Any, ...]]:
    """Each sentence's stored analysis by place, keys by name (ids differ after --force)."""
    con = sqlite3.connect(db)
    try:
        names = dict(con.execute("select id, name from keys"))
        rows = con.execute(
            "select s.document, s.paragraph, s.sentence, a.keys, a.context, a.sequence, a.flags "
            "from analysis a join sentences s on s.id = a.id"
        ).fetchall()
    finally:
        con.close()

    def named(blob: bytes) -> list[str]:
        return sorted(names[k] for k in ints(blob))

    def concepts(blob: bytes) -> list[list[str]]:
        return [sorted(names[k] for k in c) for c in decode_sequence(ints(blob))]

    return {r[:3]: (named(r[3]), named(r[4]), concepts(r[5]), r[6]) for r in rows}


# ------------------------------------------------------------------ changing and deleting


def test_changing_a_document_resplits_only_it_under_fresh_ids(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    before = _sentences(db)
    counter = SplitCounter(monkeypatch, seeds)
    make_seeds(seeds.parent, {"kelby-harbour.txt": HARBOUR + "\nA seal slept on the slipway.\n"})
    assert ensure(seeds, db).built
    assert counter.documents() == {"kelby-harbour"}
    after = _sentences(db)
    kept = {i: r for i, r in before.items() if r[0] != "kelby-harbour"}
    assert {i: r for i, r in after.items() if r[0] != "kelby-harbour"} == kept
    harbour = {i: r for i, r in after.items() if r[0] == "kelby-harbour"}
    assert min(harbour) > max(before)  # an old id never comes back naming another sentence
    assert [r[5] for _, r in sorted(harbour.items())][-1] == "A seal slept on the slipway."
    assert Engine(db).ask("where did the seal sleep").excerpts[0].document == "kelby-harbour"
    assert last_build(db)["how"] == "patched"
    full = seeds.parent / "full.sqlite3"
    build(seeds, full, force=True)
    assert _analysis(db) == _analysis(full)
    assert _postings(db) == _postings(full)
    assert _vocabulary(db) == _vocabulary(full)
    assert _table(db, "select rowid, text from sentences_fts") == _table(
        db, "select id, text from sentences"
    )
    assert list(sqlite_utils.Database(db)["sentences"].search("seal", quote=True))


def test_changing_a_cited_document_builds_the_index_whole_and_checks_its_cites(
    library: tuple[Path, Path], make_seeds: MakeSeeds
) -> None:
    """A patch leaves the FAQ's cites as they were: when the document they quote changes,
    the full build resolves them again against its new sentences."""
    seeds, db = library
    cited = _table(
        db, "select s.document from faq_cites f join sentences s on s.id = f.sentence_id"
    )
    assert {r[0] for r in cited} == {"vell-flood"}
    make_seeds(seeds.parent, {"vell-flood.txt": FLOOD + "\nThe river fell by Sunday.\n"})
    build(seeds, db)
    assert last_build(db)["how"] == "built"
    assert _table(db, "select count(*) from faq_cites") == _table(
        db, "select count(*) from faq_cites f join sentences s on s.id = f.sentence_id"
    )


def test_a_patch_that_fails_half_way_leaves_the_old_index(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    before = db.read_bytes()

    def broken(*args: Any) -> list[str]:
        raise OSError("disk full")

    monkeypatch.setattr("bot.update.update", broken)
    make_seeds(seeds.parent, {"pellow-orchard.txt": ORCHARD})
    with pytest.raises(OSError, match="disk full"):
        build(seeds, db)
    assert db.read_bytes() == before
    assert [p.name for p in db.parent.iterdir()] == [db.name]  # no temporary file left


def test_changing_a_documents_metadata_resplits_it(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .toml can change the language (how it splits) and the boilerplate (what is kept)."""
    seeds, db = library
    counter = SplitCounter(monkeypatch, seeds)
    make_seeds(seeds.parent, {"vell-flood.toml": FLOOD_META.replace("Vell river", "River Vell")})
    build(seeds, db)
    assert counter.documents() == {"vell-flood"}
    titles = dict(_table(db, "select id, title from documents"))
    assert titles["vell-flood"] == "River Vell floods Norwick"


def test_deleting_a_document_removes_its_rows_and_splits_nothing(
    library: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    before = _sentences(db)
    counter = SplitCounter(monkeypatch, seeds)
    (seeds / "marlow-school.txt").unlink()
    assert ensure(seeds, db).built
    assert counter.documents() == set()
    assert _sentences(db) == {i: r for i, r in before.items() if r[0] != "marlow-school"}
    full = seeds.parent / "full.sqlite3"
    build(seeds, full, force=True)
    assert _vocabulary(db) == _vocabulary(full)  # the school's words are gone from it
    assert _postings(db) == _postings(full)
    assert b"library" not in _vocabulary(db)[0][0]
    for table, column in (("documents", "id"), ("paragraphs", "document")):
        assert "marlow-school" not in {r[0] for r in _table(db, f"select {column} from {table}")}
    assert list(sqlite_utils.Database(db)["sentences"].search("library", quote=True)) == []
    assert not Engine(db).ask("how many books does the library hold").answered


def test_a_deleted_documents_ids_are_not_given_to_a_new_one(
    library: tuple[Path, Path], make_seeds: MakeSeeds
) -> None:
    """The last document's ids stand at the top: a document added after it is deleted must not
    take them, or a button sent before would open the new document's sentence."""
    seeds, db = library
    top = max(_sentences(db))
    (seeds / "vell-flood.txt").unlink()  # the last in id order: files are numbered sorted
    (seeds / "vell-flood.toml").unlink()
    make_seeds(seeds.parent, {"faq.toml": ""})  # its FAQ entry cites it
    build(seeds, db)
    make_seeds(seeds.parent, {"pellow-orchard.txt": ORCHARD})
    build(seeds, db)
    added = [i for i, r in _sentences(db).items() if r[0] == "pellow-orchard"]
    assert min(added) > top


def test_changing_the_faq_resplits_nothing_and_resolves_the_new_cites(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    before = _sentences(db)
    counter = SplitCounter(monkeypatch, seeds)
    quay = (
        '\n[[faq]]\nid = "kelby_quay"\nquestion = "Who closed the north quay in Kelby?"\n'
        'answer = "The harbour master, Tom Reyes."\ncites = ["closed the north quay"]\n'
    )
    make_seeds(seeds.parent, {"faq.toml": FLOOD_FAQ + quay})
    assert ensure(seeds, db).built
    assert counter.documents() == set()
    assert _sentences(db) == before
    answer = Engine(db).ask("who closed the north quay in Kelby")
    assert answer.faq is not None and answer.faq.id == "kelby_quay"
    assert answer.excerpts[0].text.startswith("The harbour master, Tom Reyes, closed")


def test_changing_the_aliases_resplits_nothing(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    counter = SplitCounter(monkeypatch, seeds)
    make_seeds(seeds.parent, {"aliases.toml": '[[alias]]\nterms = ["Kelby", "Kelby Bay"]\n'})
    build(seeds, db)
    assert counter.documents() == set()
    assert ("alias", "Kelby Bay") in _table(db, "select kind, term from aliases")
    assert last_build(db)["curated_changed"]
    # Only the document that has the words of the new group reads differently.
    assert last_build(db)["analysed"] == ["kelby-harbour"]
    assert Engine(db).ask("what sank in kelby bay").excerpts[0].document == "kelby-harbour"


def test_a_name_a_new_document_teaches_rereads_only_the_old_sentences_holding_it(
    library: tuple[Path, Path], make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    """The new article calls Amina Qureshi "Qureshi" too: the mined group now holds "Qureshi"
    in every document, so the school report's sentence naming her reads differently."""
    seeds, db = library
    retired = "Amina Qureshi retired on Friday. Qureshi had taught at Marlow for thirty years.\n"
    make_seeds(seeds.parent, {"qureshi-retires.txt": retired})
    build(seeds, db)
    assert last_build(db) == {"split": ["qureshi-retires"],
                              "analysed": ["marlow-school", "qureshi-retires"],
                              "curated_changed": False, "how": "patched"}
    full = tmp_path / "full.sqlite3"
    build(seeds, full, force=True)
    assert _analysis(db) == _analysis(full)
    assert _vocabulary(db) == _vocabulary(full)
    assert _postings(db) == _postings(full)
    answer = Engine(db).ask("what did qureshi say the pupils did")
    assert answer.excerpts[0].text.startswith("The head teacher, Amina Qureshi, said")


def test_an_alias_change_leaves_the_index_as_a_full_build_of_it(
    library: tuple[Path, Path], make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    """Reusing the others' analysis is only right if they read exactly as they would afresh:
    a group that takes a word away from plain words, and one that gives it back."""
    seeds, db = library
    for aliases in ('[[alias]]\nterms = ["north quay", "the quay"]\n'
                    '[[synonym]]\nterms = ["trawlers", "fishing boats"]\n', ""):
        make_seeds(seeds.parent, {"aliases.toml": aliases})
        build(seeds, db)
        full = tmp_path / "full.sqlite3"
        build(seeds, full, force=True)
        assert _analysis(db) == _analysis(full)


# ------------------------------------------------------------------ failures and --force


def test_a_broken_new_document_fails_naming_file_and_line_and_keeps_the_old_index(
    library: tuple[Path, Path], make_seeds: MakeSeeds
) -> None:
    seeds, db = library
    before, answers = db.read_bytes(), _answers(db)
    make_seeds(seeds.parent, {"broken.txt": b"First line.\nSecond line.\nCaf\xe9 third.\n"})
    with pytest.raises(ingest.SeedError) as info:
        build(seeds, db)
    assert Path(info.value.path).name == "broken.txt" and info.value.line == 3
    assert _files(db.parent) == {"index.sqlite3"}  # no temporary file left behind
    status = ensure(seeds, db)
    assert not status.built and "broken.txt:3" in status.warning
    assert db.read_bytes() == before
    assert _answers(db) == answers


def test_a_new_document_that_makes_a_cite_ambiguous_fails_the_build(
    library: tuple[Path, Path], make_seeds: MakeSeeds
) -> None:
    """Unchanged documents are not split again, but every cite is still checked against all."""
    seeds, db = library
    before = db.read_bytes()
    make_seeds(seeds.parent, {"copy.txt": "Engineers feared it could collapse, the mayor said.\n"})
    with pytest.raises(ingest.SeedError, match=r"faq\.toml:1: .*matches 2 sentences"):
        build(seeds, db)
    assert db.read_bytes() == before


def test_force_splits_every_document_again_and_numbers_from_one(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    make_seeds(seeds.parent, {"kelby-harbour.txt": HARBOUR + "\nA seal slept on the slipway.\n"})
    build(seeds, db)
    counter = SplitCounter(monkeypatch, seeds)
    assert ensure(seeds, db, force=True).built
    assert counter.documents() == {"vell-flood", "kelby-harbour", "marlow-school"}
    ids = sorted(_sentences(db))
    assert ids == list(range(1, len(ids) + 1))
    assert [_sentences(db)[i][0] for i in (ids[0], ids[-1])] == ["kelby-harbour", "vell-flood"]


def test_an_index_of_another_schema_is_not_reused(
    library: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its rows may have been split by other rules: everything is split again."""
    seeds, db = library
    con = sqlite3.connect(db)
    with con:
        con.execute("update meta set value = 'old' where key = 'schema'")
    con.close()
    counter = SplitCounter(monkeypatch, seeds)
    build(seeds, db)
    assert counter.documents() == {"vell-flood", "kelby-harbour", "marlow-school"}


def test_changed_analysis_rules_make_the_index_stale_and_reuse_nothing(
    library: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index stores each sentence's analysis: code that analyses differently (a new answer
    cue, another label rule) must not serve, nor reuse, rows the old code made."""
    seeds, db = library
    assert ensure(seeds, db).built is False
    rules = Path(index.__file__).parent / "search" / "analysis.py"
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes",
                        lambda self: real(self) + (b"# changed" if self == rules else b""))
    index.version.cache_clear()
    try:
        counter = SplitCounter(monkeypatch, seeds)
        assert ensure(seeds, db).built
        assert counter.documents() == {"vell-flood", "kelby-harbour", "marlow-school"}
        assert sorted(last_build(db)["analysed"]) == ["kelby-harbour", "marlow-school",
                                                      "vell-flood"]
    finally:
        index.version.cache_clear()


def test_an_unreadable_previous_index_is_replaced_by_a_full_build(
    library: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, db = library
    db.write_bytes(b"garbage" * 1000)
    counter = SplitCounter(monkeypatch, seeds)
    build(seeds, db)
    assert counter.documents() == {"vell-flood", "kelby-harbour", "marlow-school"}
    assert Engine(db).ask("who closed the north quay").answered


def test_reading_the_seeds_after_a_build_takes_the_splits_from_the_index(
    library: tuple[Path, Path], make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What reads the seeds just after a build (the FAQ lint) need not split them all again,
    and gets what read_seeds gets; a document changed since the build is split."""
    seeds, db = library
    def content(s: Seeds) -> list[Any]:
        docs = [(d.id, d.title, d.date, d.hash, d.paragraphs, d.sentences) for d in s.documents]
        return [docs, s.faq, s.aliases]

    fresh = content(ingest.read_seeds(seeds))
    counter = SplitCounter(monkeypatch, seeds)
    indexed = read_indexed_seeds(seeds, db)
    assert counter.documents() == set()
    assert not any(d.split for d in indexed.documents) and content(indexed) == fresh
    make_seeds(seeds.parent, {"marlow-school.txt": SCHOOL + "\nThe roof leaked in June.\n"})
    read_indexed_seeds(seeds, db)
    assert counter.documents() == {"marlow-school"}


# ------------------------------------------------------------------ cite finding


def test_cites_are_found_as_a_plain_scan_of_each_normalised_sentence_finds_them() -> None:
    """resolve_cites finds quotes in one joined string: it must agree with testing each
    sentence, edges included (format characters, curly quotes, spaces, a quote at the end)."""
    texts = [
        "\u200bThe mayor said \u201cwe will rebuild\u201d.",
        "Rebuild  the   bridge \u00ad",
        "We will rebuild.",
        "Ligatures: \ufb01sh and \ufb02ood.",
    ]
    doc = Document("d", Path("d.txt"), "D")
    doc.sentences = [Sentence(1, n, 0, len(t), t) for n, t in enumerate(texts, start=1)]
    quotes = {
        "said \"we will rebuild\"": [1],
        "rebuild the bridge": [2],
        "fish and flood.": [4],
        "the mayor": [1],
    }
    entries = [
        FaqEntry(f"q{n}", "?", (), "!", (quote,), "faq.toml", 1)
        for n, quote in enumerate(quotes)
    ]
    cites = resolve_cites(Seeds([doc], entries, []))
    assert [[ref[2] for ref in cites[e.id]] for e in entries] == list(quotes.values())
    ambiguous = FaqEntry("amb", "?", (), "!", ("will rebuild",), "faq.toml", 1)
    with pytest.raises(ingest.SeedError, match="matches 2 sentences"):
        resolve_cites(Seeds([doc], [ambiguous], []))
