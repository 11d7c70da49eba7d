"""Aliases mined from a document's own text: the ways writers introduce a name."""

from __future__ import annotations

from bot.mining import MinedGroup, abbreviations, merge, mine, people

ENGLISH = frozenset("military operations command after the syrian news latest president".split())


def is_word(word: str) -> bool:
    return word in ENGLISH


def test_an_abbreviation_in_brackets_after_its_name() -> None:
    text = "Syrian opposition group Hayat Tahrir al-Sham (HTS) took over. Later HTS said so."
    assert abbreviations(text) == [MinedGroup(("Hayat Tahrir al-Sham", "HTS"), "abbreviation")]


def test_a_name_in_brackets_after_its_abbreviation() -> None:
    text = "The SOHR (Syrian Observatory for Human Rights) counted them."
    [group] = abbreviations(text)
    assert set(group.terms) == {"Syrian Observatory for Human Rights", "SOHR"}


def test_brackets_that_are_no_abbreviation_are_left_alone() -> None:
    assert abbreviations("The city (population 1.5 million) fell. He left (finally).") == []


def test_a_full_name_whose_last_name_stands_alone() -> None:
    text = "President-elect Donald Trump spoke. Later, Trump said no."
    [group] = people(text, is_word)
    assert group.terms[0] == "Donald Trump" and "Trump" in group.terms


def test_a_last_name_shared_by_two_people_goes_to_the_one_named_most() -> None:
    text = ("Bashar al-Assad fled. Bashar al-Assad's forces left. Statues of Hafez al-Assad fell. "
            "Assad was not seen.")
    groups = {g.terms[0]: g.terms for g in people(text, is_word)}
    assert "Assad" in groups["Bashar al-Assad"]
    assert "Assad" not in groups.get("Hafez al-Assad", ())  # his own spellings only


def test_a_role_set_off_before_a_name() -> None:
    text = "The UN special envoy for Syria, Geir Pedersen, called for talks."
    [group] = people(text, is_word)
    assert group.terms == ("Geir Pedersen", "UN special envoy for Syria")


def test_organisations_and_sentence_starts_are_no_people() -> None:
    text = "Military Operations Command said so. After Homs, the command moved. Latest News here."
    assert people(text, is_word) == []


def test_groups_sharing_a_term_merge() -> None:
    merged = merge([MinedGroup(("A B", "AB"), "x"), MinedGroup(("ab", "A-B"), "y")])
    assert merged == [MinedGroup(("A B", "AB", "ab", "A-B"), "x")]


def test_mine_reads_every_document() -> None:
    groups = mine(["Hayat Tahrir al-Sham (HTS) moved.", "Donald Trump spoke; Trump left."], is_word)
    assert [g.terms[0] for g in groups] == ["Hayat Tahrir al-Sham", "Donald Trump"]


def test_a_particle_run_into_a_name_is_another_spelling() -> None:
    text = "Bashar al-Assad left. Assad was not seen again."
    [group] = people(text, is_word)
    assert {"Bashar Alassad", "Alassad"} <= set(group.terms)
