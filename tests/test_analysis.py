"""bot.search.analysis: text -> concepts (stems, aliases and synonyms), question types and the
cues an answer to each must hold."""

from __future__ import annotations

import pytest

from bot.search import Engine
from bot.search.analysis import (
    REFERS_BACK,
    Analyzer,
    Concept,
    is_label,
    lacks_cue,
    question_types,
)
from bot.search.spelling import Speller


@pytest.fixture
def analyzer() -> Analyzer:
    a = Analyzer()
    a.add_group("alias:1", "alias", ["United States", "US", "America"])
    a.add_group("synonym:2", "synonym", ["flood", "deluge"])
    a.speller = Speller({"hezbollah": 3, "damascus": 2})
    return a


def _words(concepts: list[Concept]) -> list[tuple[str, ...]]:
    return [c.words for c in concepts]


# ------------------------------------------------------------------ concepts


def test_every_name_of_an_alias_group_is_one_concept(analyzer: Analyzer) -> None:
    (full,) = analyzer.concepts("the United States")
    (short,) = analyzer.concepts("the US")
    (other,) = analyzer.concepts("America")
    assert full.words == ("united", "states")
    assert full.exact == short.exact == other.exact


def test_lowercase_us_is_the_pronoun_and_uppercase_us_the_country(analyzer: Analyzer) -> None:
    assert analyzer.concepts("tell us") == []
    assert _words(analyzer.concepts("tell US")) == [("us",)]
    assert _words(analyzer.concepts("in the us")) == [("us",)]  # "the us" is the country


def test_a_question_in_capitals_reads_us_as_the_pronoun(analyzer: Analyzer) -> None:
    assert _words(analyzer.concepts("TELL US ABOUT THE FLOOD")) == [("flood",)]


def test_synonyms_share_a_key_but_not_the_exact_one(analyzer: Analyzer) -> None:
    (flood,) = analyzer.concepts("flood")
    (deluge,) = analyzer.concepts("deluge")
    assert flood.keys & deluge.keys
    assert flood.exact != deluge.exact


def test_the_word_after_how_belongs_to_the_question_type(analyzer: Analyzer) -> None:
    assert _words(analyzer.concepts("how many planes landed")) == [("planes",), ("landed",)]


def test_answering_never_grows_the_key_table(analyzer: Analyzer) -> None:
    """A word only the question has stays a string key; loading (grow=True) numbers it."""
    (asked,) = analyzer.concepts("zebra")
    assert asked.exact == "p:zebra"
    (loaded,) = analyzer.concepts("zebra", grow=True)
    assert isinstance(loaded.exact, int)
    assert analyzer.concepts("zebras")[0].exact == loaded.exact  # the same stem


def test_spans_point_at_the_words_in_the_original_text(analyzer: Analyzer) -> None:
    text = "Did the United States send aid?"
    spans = [text[c.start : c.end] for c in analyzer.concepts(text)]
    assert spans == ["United States", "send", "aid"]


def test_a_query_mends_its_words_and_completes_only_the_last(analyzer: Analyzer) -> None:
    assert _words(analyzer.concepts("hezbolah", query=True)) == [("hezbollah",)]
    assert ("damascus",) in _words(analyzer.concepts("hezbollah in dam", query=True))
    assert ("dam",) in _words(analyzer.concepts("dam hezbollah", query=True))
    assert ("dam",) in _words(analyzer.concepts("hezbollah in dam ", query=True))
    assert ("dam",) in _words(analyzer.concepts("hezbollah in dam"))  # not a query: as written


def test_only_the_last_word_is_completed(engine: Engine) -> None:
    """A finished word followed by more text (or a space) is a word, not a prefix."""

    def words_of(q: str) -> list[str]:
        return [w for c in engine.concepts(q, query=True) for w in c.words]

    assert "damascus" in words_of("hezbollah in dam")
    assert "dam" in words_of("dam hezbollah")
    assert "dam" in words_of("hezbollah in dam ")


# ------------------------------------------------------------------ question types and cues


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how many people fled", "quantity"),
        ("how long has he ruled", "duration"),
        ("how far is homs from damascus", "distance"),
        ("when was homs captured", "time"),
        ("who took homs", "person"),
        ("where is qusayr", "place"),
        ("which city fell first", "place"),
        ("why did hezbollah leave", "reason"),
        ("where was he when homs fell", "place"),
    ],
)
def test_a_question_has_the_type_of_its_first_wh_word(question: str, kind: str) -> None:
    assert question_types(question) == frozenset({kind})


@pytest.mark.parametrize("question", ["what did he say when he left", "homs", "is it over"])
def test_a_question_without_a_specific_type_has_none(question: str) -> None:
    assert question_types(question) == frozenset()


@pytest.mark.parametrize(
    ("kind", "sentence", "lacks"),
    [
        ("quantity", "Three cities fell.", False),
        ("quantity", "The cities fell.", True),
        ("distance", "Homs is nearly a 100 kilometres away.", False),
        ("distance", "Homs is close to Damascus.", True),
        ("time", "The city fell on Saturday night.", False),
        ("duration", "He ruled for 24 years.", False),
        ("time", "The talks resume in May.", False),
        ("time", "You may not use this file except in compliance.", True),  # the verb
        ("reason", "The cities fell.", False),  # no cue to hold: any sentence may answer
        # "who": a name inside the sentence, an address, a company; not a capital that only
        # opens the sentence.
        ("person", "Homs fell to the forces of Hayat Tahrir al-Sham.", False),
        ("person", "Copyright 2022 Free Software Foundation, Inc.", False),
        ("person", "Report bugs to: bug-gzip@gnu.org", False),
        ("person", "Permission is granted to copy this manual.", True),
        ("person", "The cities fell.", True),
    ],
)
def test_an_answer_must_hold_the_cue_of_its_question_type(
    kind: str, sentence: str, lacks: bool
) -> None:
    assert lacks_cue(sentence, frozenset({kind})) is lacks


def test_a_sentence_opening_with_a_pronoun_or_quoting_he_said_refers_back() -> None:
    assert REFERS_BACK.search("He added that the army had left.")
    assert REFERS_BACK.search("The talks failed, they said.")
    assert REFERS_BACK.search("The envoy said the talks failed.") is None


@pytest.mark.parametrize(
    ("text", "alone", "label"),
    [
        ("6. Trademarks.", False, True),  # a run-in numbered heading
        ("--synchronous", True, True),  # an option label: no sentence end
        ("END OF TERMS AND CONDITIONS", True, True),
        ("OpenSSH 9.0 includes a number of changes that may affect existing configurations:",
         False, True),
        ("Use synchronous output.", True, False),
        ("* ssh(1): disable CheckHostIP by default.", True, False),
        ("--synchronous", False, False),  # inside a paragraph of prose: no heading
        ("Exit status is normally 0; if an error occurs, exit status is 1.", True, False),
        ("Report bugs to: bug-gzip@gnu.org", True, False),  # a field and its value says it
    ],
)
def test_headings_and_labels_are_told_from_prose(text: str, alone: bool, label: bool) -> None:
    assert is_label(text, alone) is label


def test_a_one_letter_option_is_a_concept_of_its_own_and_its_case_counts() -> None:
    analyzer = Analyzer()
    lower = analyzer.concepts("gzip -c writes to standard output", grow=True)
    upper = analyzer.concepts("gzip -C is not an option", grow=True)
    assert [c.words for c in lower][:2] == [("gzip",), ("c",)]
    assert lower[1].keys != upper[1].keys
    assert [c.words for c in analyzer.concepts("plan c")] == [("plan",)]  # a lone letter: none
