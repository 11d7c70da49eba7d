"""Reading a chat message: the question part is answered, greetings and worries are not
matched against the document, further questions are offered."""

from __future__ import annotations

import pytest

from bot.message import Asked, read_message


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("hi! doing homework on this, what year was X founded?", "what year was X founded?"),
        ("my brother is there and i'm scared — are the roads still open??",
         "are the roads still open?"),
        ("hello there, who wrote the report", "who wrote the report"),
        ("So what happened in Homs", "what happened in Homs"),
        ("quick question: how far is homs from damascus?!?!", "how far is homs from damascus?"),
    ],
)
def test_the_question_part_is_what_is_answered(text: str, question: str) -> None:
    assert read_message(text).question == question


def test_further_questions_are_offered_not_merged() -> None:
    assert read_message("who took homs? and where is assad now") == Asked(
        "who took homs?", ("where is assad now",)
    )


@pytest.mark.parametrize(
    "text",
    [
        "homs highway",  # a keyword search is taken whole
        "hts chemical weapons",
        "Is Assad still in Damascus, or did he flee?",  # one question with two halves
        "U.S. troops in Syria?",  # abbreviations are no sentence ends
    ],
)
def test_messages_without_parts_are_taken_whole(text: str) -> None:
    assert read_message(text) == Asked(text)


def test_a_short_tail_stays_with_its_question() -> None:
    assert read_message("When did HTS take Homs, and why?").others == ()


def test_a_question_that_names_nothing_keeps_its_context() -> None:
    text = "The M5 highway is closed. Where does it go?"
    assert read_message(text) == Asked(text)


@pytest.mark.parametrize(
    ("text", "question"),
    [
        # a condition is part of its question
        ("if i take someone to court over a patent, what happens to my rights",
         "if i take someone to court over a patent, what happens to my rights"),
        # a clause of the same sentence names what the question is about
        ("my .gz file is corrupt, how do i get some of the data back?",
         "my .gz file is corrupt, how do i get some of the data back?"),
        # a pronoun of the question stands for what the sentence before named
        ("hi, I have one ancient server that only does ssh-rsa. how do I get ssh to talk to it?",
         "I have one ancient server that only does ssh-rsa. how do I get ssh to talk to it?"),
    ],
)
def test_the_part_a_question_stands_on_comes_with_it(text: str, question: str) -> None:
    assert read_message(text).question == question


def test_a_sentence_before_a_question_that_does_not_refer_to_it_stays_out() -> None:
    text = "I read the whole article last night. Where is the M5 highway?"
    assert read_message(text).question == "Where is the M5 highway?"


def test_a_bare_greeting_stays_as_it_is() -> None:
    assert read_message("hello!").question == "hello!"
