"""bot.text: ingest and search must agree on what a word is, or questions miss their sentences."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import content_words, normalise, stem, stems, tokens, words


def _words(text: str) -> list[str]:
    return [w for w, *_ in tokens(text)]


# ---------------------------------------------------------------------------- normalise


def test_normalise_applies_nfkc_so_compatibility_forms_read_as_plain_text() -> None:
    """Ligatures and full-width digits come from PDFs and phone keyboards."""
    assert normalise("\ufb01nal \uff11\uff10\uff10") == "final 100"


def test_normalise_case_folds_rather_than_lowercases() -> None:
    """casefold() maps German sharp s to "ss"; lower() would not."""
    assert normalise("STRASSE Straße") == "strasse strasse"


def test_normalise_straightens_curly_quotes() -> None:
    curly = "\u201cHi,\u201d he said, \u2018it\u2019s over\u2019"
    assert normalise(curly) == "\"hi,\" he said, 'it's over'"


def test_normalise_turns_en_and_em_dashes_into_ascii_hyphens() -> None:
    assert normalise("Homs\u2013Damascus \u2014 road") == "homs-damascus - road"


def test_normalise_collapses_whitespace_runs_and_strips_the_ends() -> None:
    assert normalise("  a \t\n b\u00a0\u00a0 c \r\n") == "a b c"


def test_normalise_drops_zero_width_characters_inside_a_word() -> None:
    assert normalise("Da\u200bmas\u00adcus") == "damascus"


def test_normalise_is_idempotent_on_the_real_article(article_path: Path) -> None:
    """Cites are matched as normalise(quote) in normalise(sentence): twice must equal once."""
    once = normalise(article_path.read_text(encoding="utf-8"))
    assert normalise(once) == once


# ---------------------------------------------------------------------------- tokens


def test_tokens_split_hyphenated_names_and_drop_the_possessive() -> None:
    text = "Soldiers from al-Assad\u2019s army"
    toks = tokens(text)
    assert _words(text) == ["soldiers", "from", "al", "assad", "army"]
    assert [text[s:e] for _, s, e, _ in toks] == ["Soldiers", "from", "al", "Assad\u2019s", "army"]


def test_tokens_join_contractions_with_a_curly_apostrophe() -> None:
    text = "they\u2019re forcing"
    (word, s, e, _), _rest = tokens(text)
    assert word == "theyre"
    assert text[s:e] == "they\u2019re"


def test_tokens_spans_index_the_original_text_not_a_normalised_copy() -> None:
    """Search bolds text[s:e]; a span into a normalised copy would bold the wrong letters."""
    text = "\u201cTu\u0308rkiye\u201d\u00a0\u2014\ufb01ne  STRASSE\t\u201cStraße\u201d"
    toks = tokens(text)
    assert [text[s:e] for _, s, e, _ in toks] == ["Tu\u0308rkiye", "\ufb01ne", "STRASSE", "Straße"]
    assert [w for w, *_ in toks] == ["turkiye", "fine", "strasse", "strasse"]


def test_tokens_flag_an_all_capitals_word_so_us_differs_from_us() -> None:
    assert tokens("US") == [("us", 0, 2, True)]
    assert tokens("us") == [("us", 0, 2, False)]
    assert tokens("Us")[0][3] is False


def test_tokens_do_not_flag_a_single_capital_letter() -> None:
    """"I" or "A" at the start of a sentence is not an abbreviation."""
    assert [t[3] for t in tokens("I A")] == [False, False]


@pytest.mark.parametrize(
    "text",
    ["Da\u200bmascus", "Damas\u00adcus", "Damas\u200ccus"],
    ids=["zero-width-space", "soft-hyphen", "zero-width-non-joiner"],
)
def test_tokens_a_zero_width_character_inside_a_word_does_not_split_it(text: str) -> None:
    """Invisible characters pasted from the web must not turn one word into two."""
    assert tokens(text) == [("damascus", 0, len(text), False)]


def test_tokens_a_zero_width_character_between_words_does_not_glue_them() -> None:
    text = "Homs\u200b Damascus \u200bAleppo"
    toks = tokens(text)
    assert _words(text) == ["homs", "damascus", "aleppo"]
    assert [text[s:e] for _, s, e, _ in toks] == ["Homs", "Damascus", "Aleppo"]


@pytest.mark.parametrize(
    "text",
    [
        "Bashar al-Assad\u2019s army",
        "They\u2019re \u201chere\u201d now",
        "Türkiye and Tu\u0308rkiye",
        "Damas\u00adcus",
        "\ufeffwho took Homs",
    ],
)
def test_tokens_and_words_agree_on_the_words_of_a_text(text: str) -> None:
    """The index is built with tokens(); questions are also cleaned with words(); they must meet."""
    assert _words(text) == words(text)


def test_tokens_keep_arabic_with_vowel_marks_as_one_word() -> None:
    text = "زَيْتُون"
    assert tokens(text) == [("زيتون", 0, len(text), False)]


def test_tokens_keep_hebrew_with_points_as_one_word() -> None:
    text = "שָׁלוֹם"
    assert len(tokens(text)) == 1
    assert tokens(text)[0][1:3] == (0, len(text))


def test_tokens_fold_accents_in_precomposed_and_decomposed_forms() -> None:
    nfc = "Türkiye"
    nfd = unicodedata.normalize("NFD", nfc)
    assert tokens(nfc) == [("turkiye", 0, len(nfc), False)]
    assert tokens(nfd) == [("turkiye", 0, len(nfd), False)]


def test_tokens_ignore_punctuation_emoji_and_markup() -> None:
    text = "🤔🤔 <b>&amp; -- ... !!"
    assert [(w, text[s:e]) for w, s, e, _ in tokens(text)] == [("b", "b"), ("amp", "amp")]
    assert tokens("🤔🤔 -- ... !! ¿¡") == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_tokens_spans_are_ordered_in_bounds_and_spell_their_word(text: str) -> None:
    """Whatever the text, every span is a real, non-empty slice holding that word."""
    last_end = 0
    for word, s, e, _upper in tokens(text):
        assert word
        assert last_end <= s < e <= len(text)
        assert "".join(words(text[s:e])) == word
        last_end = e


# ---------------------------------------------------------------------------- stem


def test_stem_reduces_inflections_to_one_form() -> None:
    assert stem("fighters") == stem("fighter")
    assert stem("captured") == stem("capturing") == stem("capture")
    assert stem("cities") == stem("city")


def test_stem_leaves_short_words_and_numbers_alone() -> None:
    """Stemming "was" or "1990s" would merge unrelated words."""
    assert stem("was") == "was"
    assert stem("hms") == "hms"
    assert stem("2024") == "2024"


def test_stems_batch_agrees_with_stem_for_longer_words() -> None:
    many = ["withdrawn", "weapons", "opposition", "celebrating", "kilometres"]
    assert stems(many) == [stem(w) for w in many]


def test_content_words_drop_stopwords_and_lone_letters_but_keep_digits() -> None:
    assert content_words("What is the capital of Syria? A 5 x") == ["capital", "syria", "5"]
