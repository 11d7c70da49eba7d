"""bot.search.spelling: a misspelt question word is mended to the index word it was meant to be,
a real English word never is, and a half-typed last word is completed."""

from __future__ import annotations

import pytest

from bot.answer import Answer
from bot.search import Engine
from bot.search.spelling import Speller, english_level

VOCAB = {"qusayr": 2, "hezbollah": 5, "damascus": 7, "damage": 1, "homs": 9, "night": 3}


def _positions(answer: Answer) -> list[tuple[str, int, int]]:
    return [(e.document, e.paragraph, e.sentence) for e in answer.excerpts]


# ------------------------------------------------------------------ the speller alone


@pytest.mark.parametrize(("typo", "right"), [("qusyar", "qusayr"), ("hezbolah", "hezbollah")])
def test_a_word_near_an_index_word_is_mended_to_it(typo: str, right: str) -> None:
    assert Speller(VOCAB).correct(typo) == right


@pytest.mark.parametrize("word", ["knight", "homs", "hm", "2024", "qusayr"])
def test_dictionary_index_short_and_non_alphabetic_words_stay(word: str) -> None:
    assert Speller(VOCAB).correct(word) == word


@pytest.mark.parametrize(
    ("typo", "right"),
    [
        ("tok", {"took"}),  # a letter left out
        ("teh", {"the"}),  # two letters swapped: a stopword, which then drops out
        ("hav", {"have", "has"}),  # stopwords both: either drops out
    ],
)
def test_a_three_letter_slip_is_mended_to_the_one_word_it_can_be(
    typo: str, right: set[str]
) -> None:
    assert Speller({**VOCAB, "took": 2, "tool": 1}).correct(typo) in right


@pytest.mark.parametrize(
    ("word", "vocab"),
    [
        ("rsa", {"dsa": 3}),  # a changed letter makes another short name: never mended
        ("tol", {"tool": 1, "toll": 1}),  # two words it may be: left as it is
        ("hom", {"homs": 1}),  # "homs", or the stopword "whom"
        ("cbc", {"cbcs": 1}),  # a dictionary word
    ],
)
def test_a_three_letter_word_stays_unless_one_slip_makes_one_index_word(
    word: str, vocab: dict[str, int]
) -> None:
    assert Speller(vocab).correct(word) == word


def test_english_level_tells_dictionary_words_from_inflections_and_names() -> None:
    assert english_level("night") == 2
    assert english_level("qusayr") == 0


def test_a_half_typed_word_completes_to_the_most_frequent_index_word_it_starts() -> None:
    speller = Speller(VOCAB)
    assert speller.complete("dama") == "damascus"  # 7 occurrences against "damage"'s 1
    assert speller.complete("hezbo") == "hezbollah"


@pytest.mark.parametrize("prefix", ["da", "homs", "zzz", "the"])
def test_short_known_unknown_and_stop_prefixes_stay(prefix: str) -> None:
    assert Speller(VOCAB).complete(prefix) == prefix


# ------------------------------------------------------------------ through the engine


@pytest.mark.parametrize(
    ("typo", "right", "fragment"),
    [
        ("chemcial weapons", "chemical weapons", "chemical weapons"),
        ("hezbolah", "hezbollah", "Hezbollah"),
        ("qusyar", "qusayr", "Qusayr"),
        ("where is qusyar", "where is qusayr", "Qusayr"),
    ],
)
def test_a_misspelt_article_word_finds_the_same_sentences(
    engine: Engine, typo: str, right: str, fragment: str
) -> None:
    wrong, correct = engine.ask(typo), engine.ask(right)
    assert wrong.answered
    assert any(fragment in e.text for e in wrong.excerpts)
    assert _positions(wrong) == _positions(correct)


@pytest.mark.parametrize("word", ["knight", "forest", "learning", "closet", "assyrian"])
def test_a_dictionary_word_is_not_corrected_into_a_nearby_article_word(
    engine: Engine, word: str
) -> None:
    """"knight" is not a typo of "night", nor "forest" of "forces": such questions are off topic."""
    answer = engine.ask(word)
    assert answer.answered is False
    assert answer.excerpts == ()


def test_a_british_or_american_spelling_becomes_the_one_the_index_has() -> None:
    speller = Speller({"license": 3, "color": 1, "recognised": 2})
    assert speller.correct("licence") == "license"
    assert speller.correct("colour") == "color"
    assert speller.correct("recognized") == "recognised"
    assert speller.correct("honour") == "honour"  # neither spelling in the index: as written
