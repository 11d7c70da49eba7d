"""bot.ingest: what counts as a sentence decides what the bot can quote, so pin the tricky spots.

Also pin the seed errors: a curator must be told which file and line to fix.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import pytest

from bot.ingest import Document, SeedError, read_document, read_seeds
from tests.conftest import MakeSeeds

LDQ, RDQ, RSQ, EM = "\u201c", "\u201d", "\u2019", "\u2014"

FLOOD = """The Vell river burst its banks at Norwick on Tuesday night.

Rescue boats carried 40 residents to the hill school. Nobody was hurt.
"""


@pytest.fixture(scope="module")
def article(article_path: Path) -> Document:
    return read_document(article_path)


def _the_sentence_with(doc: Document, fragment: str) -> str:
    """The one sentence holding `fragment`; failing if it is split across two or repeated."""
    hits = [s.text for s in doc.sentences if fragment in s.text]
    assert len(hits) == 1, f"{fragment!r} is in {len(hits)} sentences"
    return hits[0]


# ------------------------------------------------------------------ the real article


def test_a_quote_holding_two_full_stops_is_one_sentence_with_its_attribution(
    article: Document,
) -> None:
    sentence = _the_sentence_with(article, "After Homs, we will head towards Damascus.")
    assert sentence.startswith(f"{LDQ}After Homs, we will head towards Damascus. There will be")
    assert sentence.endswith(f"but rather a militia,{RDQ} he said.")


def test_a_possessive_apostrophe_does_not_end_a_sentence(article: Document) -> None:
    sentence = _the_sentence_with(article, "al-Assad's whereabouts")
    assert sentence.startswith("Rumors about President Bashar al-Assad's whereabouts")
    assert sentence.endswith("he may have fled the city.")
    stronghold = _the_sentence_with(article, "the Assad regime's main stronghold")
    assert stronghold.startswith("Syrian opposition made rapid advances")


def test_an_em_dash_between_words_stays_inside_its_sentence(article: Document) -> None:
    sentence = _the_sentence_with(article, f"Homs{EM}four cities")
    assert "capturing Deraa, Qneitra, Sweida" in sentence
    assert sentence.endswith("the Assad regime's main stronghold.")


def test_nearly_a_100_kilometres_away_is_inside_one_sentence(article: Document) -> None:
    sentence = _the_sentence_with(article, "nearly a 100 kilometres away")
    assert sentence.startswith("Homs also has historic and strategic importance")
    assert sentence.endswith("from the capital, reports Al Jazeera.")


def test_the_site_footer_on_the_last_line_is_left_out(
    article: Document, article_path: Path
) -> None:
    source = article_path.read_text(encoding="utf-8")
    lines = [ln for ln in source.splitlines() if ln.strip()]
    assert lines[-1].startswith("Catch all the Business News")  # the seed is what we think
    assert not any("Catch all the" in s.text or "Mint News App" in s.text
                   for s in article.sentences)
    assert len(article.paragraphs) == len(lines) - 1
    assert article.paragraphs[-1].text == lines[-2].strip()


def test_every_sentence_is_a_verbatim_slice_of_the_source_file(
    article: Document, article_path: Path
) -> None:
    source = article_path.read_text(encoding="utf-8")
    assert article.sentences
    for s in article.sentences:
        assert s.text == source[s.start : s.end]
        assert s.text == s.text.strip() and s.text


def test_every_paragraph_is_a_verbatim_slice_and_holds_its_sentences_in_order(
    article: Document, article_path: Path
) -> None:
    source = article_path.read_text(encoding="utf-8")
    for p in article.paragraphs:
        assert p.text == source[p.start : p.end]
        inside = [s for s in article.sentences if s.paragraph == p.number]
        assert inside, f"paragraph {p.number} has no sentence"
        assert p.start == inside[0].start and inside[-1].end == p.end
        for a, b in itertools.pairwise(inside):
            assert a.end <= b.start
            assert not source[a.end : b.start].strip(), "text between sentences was lost"


def test_paragraph_numbers_start_at_one_and_are_consecutive(article: Document) -> None:
    assert [p.number for p in article.paragraphs] == list(range(1, len(article.paragraphs) + 1))


def test_sentence_numbers_restart_at_one_in_each_paragraph(article: Document) -> None:
    by_paragraph: dict[int, list[int]] = {}
    for s in article.sentences:
        by_paragraph.setdefault(s.paragraph, []).append(s.number)
    assert set(by_paragraph) == {p.number for p in article.paragraphs}
    for numbers in by_paragraph.values():
        assert numbers == list(range(1, len(numbers) + 1))
    assert any(len(n) > 1 for n in by_paragraph.values())  # restarting is actually exercised


def test_metadata_comes_from_the_toml_beside_the_document(
    article: Document, article_path: Path
) -> None:
    meta = tomllib.loads(article_path.with_suffix(".toml").read_text(encoding="utf-8"))
    assert (article.title, article.publisher, article.date) == (
        meta["title"],
        meta["publisher"],
        meta["date"],
    )
    assert article.id == article_path.stem


# ------------------------------------------------------------------ generic documents


def test_paragraphs_are_blocks_between_blank_lines_when_the_text_has_them(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD})
    doc = read_document(seeds / "vell-flood.txt")
    assert [p.number for p in doc.paragraphs] == [1, 2]
    assert [(s.paragraph, s.number) for s in doc.sentences] == [(1, 1), (2, 1), (2, 2)]
    assert doc.sentences[-1].text == "Nobody was hurt."


def test_a_bare_document_takes_its_title_from_a_short_first_line(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(tmp_path, {"vell-flood.txt": "Flood hits Norwick\n\n" + FLOOD})
    doc = read_document(seeds / "vell-flood.txt")
    assert doc.title == "Flood hits Norwick"
    assert (doc.publisher, doc.date) == ("", "")


@pytest.mark.parametrize(
    "first_line",
    ["The Vell river burst its banks at Norwick on Tuesday night.", "Flood " * 30],
    ids=["ends-with-a-full-stop", "too-long"],
)
def test_a_bare_document_without_a_title_line_is_named_after_its_file(
    tmp_path: Path, make_seeds: MakeSeeds, first_line: str
) -> None:
    seeds = make_seeds(tmp_path, {"vell-river_flood.txt": first_line.strip() + "\n"})
    assert read_document(seeds / "vell-river_flood.txt").title == "Vell river flood"


def test_footer_lines_are_dropped_only_at_the_end_of_a_document(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """A body paragraph that says "follow us on" is story, not site furniture."""
    text = (
        "Officials urged people to follow us on the radio for updates.\n\n"
        "The water fell by Thursday.\n\n"
        "Follow us on Twitter for more.\n\n"
        "Copyright 2024 Norwick Gazette. All rights reserved.\n"
    )
    seeds = make_seeds(tmp_path, {"gazette.txt": text})
    doc = read_document(seeds / "gazette.txt")
    assert [s.text for s in doc.sentences] == [
        "Officials urged people to follow us on the radio for updates.",
        "The water fell by Thursday.",
    ]


def test_a_boilerplate_pattern_in_the_metadata_drops_a_trailing_line(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(
        tmp_path,
        {
            "gazette.txt": FLOOD + "\nPrinted by the Norwick Press.\n",
            "gazette.toml": 'title = "Flood"\nboilerplate = ["^printed by"]\n',
        },
    )
    doc = read_document(seeds / "gazette.txt")
    assert doc.title == "Flood"
    assert doc.sentences[-1].text == "Nobody was hurt."


# ------------------------------------------------------------------ bad seeds


def _seed_error(seeds: Path) -> SeedError:
    with pytest.raises(SeedError) as info:
        read_seeds(seeds)
    return info.value


def _points_at(error: SeedError, name: str, line: int) -> bool:
    """The message reads `<path>/<name>:<line>: ...`, the form editors jump to."""
    named = Path(error.path).name == name and error.line == line
    return named and f"{name}:{line}: " in str(error)


def test_malformed_metadata_toml_names_the_file_and_line(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(
        tmp_path,
        {"vell-flood.txt": FLOOD, "vell-flood.toml": 'title = "Flood"\npublisher = \n'},
    )
    message = str(_seed_error(seeds))
    assert "vell-flood.toml" in message
    assert "line 2" in message


@pytest.mark.parametrize("name", ["faq.toml", "aliases.toml"])
def test_malformed_curated_toml_names_the_file_and_line(
    tmp_path: Path, make_seeds: MakeSeeds, name: str
) -> None:
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, name: '# ok\n\n\nx = "open\n'})
    message = str(_seed_error(seeds))
    assert name in message
    assert "line 4" in message


def test_a_document_that_is_not_utf8_names_the_file(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(tmp_path, {"cafe.txt": "Caf\xe9 opens.\n".encode("latin-1")})
    error = _seed_error(seeds)
    assert "cafe.txt" in str(error)
    assert "UTF-8" in str(error)


@pytest.mark.parametrize("text", ["", " \n\n\t\n"], ids=["empty", "blank"])
def test_an_empty_document_is_a_seed_error_naming_it(
    tmp_path: Path, make_seeds: MakeSeeds, text: str
) -> None:
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "empty.txt": text})
    error = _seed_error(seeds)
    assert "empty.txt" in str(error)
    assert "empty" in error.message


def test_a_document_of_nothing_but_footer_is_a_seed_error(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(tmp_path, {"footer.txt": "All rights reserved.\n"})
    assert "footer.txt" in str(_seed_error(seeds))


GOOD_FAQ = """# a comment

[[faq]]
id = "vell_flood"
question = "Where did the Vell flood?"
answer = "At Norwick."
cites = ["burst its banks at Norwick"]
"""


def test_a_faq_entry_without_an_answer_names_file_line_and_id(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    faq = GOOD_FAQ + '\n[[faq]]\nid = "rescue_boats"\nquestion = "Who helped?"\ncites = ["boats"]\n'
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "faq.toml": faq})
    error = _seed_error(seeds)
    assert _points_at(error, "faq.toml", 9)  # the second [[faq]] header
    assert "'rescue_boats'" in str(error)
    assert "answer" in str(error)


def test_a_faq_entry_with_a_bad_id_names_file_line_and_id(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    faq = GOOD_FAQ.replace('"vell_flood"', '"Vell-Flood"')
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "faq.toml": faq})
    error = _seed_error(seeds)
    assert _points_at(error, "faq.toml", 3)
    assert "Vell-Flood" in str(error)


def test_a_faq_header_written_with_spaces_still_gets_its_line(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """`[[ faq ]]` is valid TOML, so the error must still point at the right line."""
    faq = GOOD_FAQ + '\n[[ faq ]]\nid = "rescue_boats"\nquestion = "Who helped?"\ncites = ["x"]\n'
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "faq.toml": faq})
    error = _seed_error(seeds)
    assert "'rescue_boats'" in str(error)
    assert _points_at(error, "faq.toml", 9)


def test_a_faq_id_used_twice_is_a_seed_error_naming_the_second_use(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "faq.toml": GOOD_FAQ + GOOD_FAQ})
    error = _seed_error(seeds)
    assert _points_at(error, "faq.toml", 10)
    assert "'vell_flood'" in str(error)
    assert "twice" in str(error)


def test_a_faq_id_used_in_two_faq_files_is_a_seed_error(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    """Files are read in name order, so extra.faq.toml comes first and faq.toml repeats it."""
    seeds = make_seeds(
        tmp_path,
        {"vell-flood.txt": FLOOD, "faq.toml": GOOD_FAQ, "extra.faq.toml": GOOD_FAQ},
    )
    error = _seed_error(seeds)
    assert _points_at(error, "faq.toml", 3)
    assert "'vell_flood'" in str(error)


def test_an_alias_group_with_one_term_names_file_and_line(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    aliases = '[[alias]]\nterms = ["Vell", "River Vell"]\n\n[[alias]]\nterms = ["Norwick"]\n'
    seeds = make_seeds(tmp_path, {"vell-flood.txt": FLOOD, "aliases.toml": aliases})
    error = _seed_error(seeds)
    assert _points_at(error, "aliases.toml", 4)
    assert "two" in str(error)


def test_good_seeds_read_back_as_documents_faq_and_aliases(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    aliases = (
        '[[alias]]\nterms = ["Vell", "River Vell"]\n\n'
        '[[synonym]]\nterms = ["flood", "inundation"]\n'
    )
    seeds = make_seeds(
        tmp_path, {"vell-flood.txt": FLOOD, "faq.toml": GOOD_FAQ, "aliases.toml": aliases}
    )
    read = read_seeds(seeds)
    assert [d.id for d in read.documents] == ["vell-flood"]
    assert [(e.id, e.line, e.cites) for e in read.faq] == [
        ("vell_flood", 3, ("burst its banks at Norwick",))
    ]
    assert [(g.kind, g.terms) for g in read.aliases] == [
        ("alias", ("Vell", "River Vell")),
        ("synonym", ("flood", "inundation")),
    ]
