"""What a chat message asks: its question part, and any further questions in it.

People write to a bot as to a person: "hi! doing homework on this, what year was X founded?",
"my brother is there and i'm scared — are the roads still open??", "who took homs? and where is
assad now". The greeting, the worry and the second question are not what to match the document
against: their words would only dilute the question (an unknown word weighs most). So the
engine answers the first question part and offers the others.

A part is a question when it ends with "?" or starts with a question word or an auxiliary verb
("is", "did", "can"...) or a request ("tell me", "explain"). A message with no such part (a
keyword search: "homs highway") is taken whole, less its greeting. The part just before the
question comes with it when the question stands on it: a condition ("if i sue, what happens to
my licence"), a clause of the same sentence ("my .gz file is corrupt, how do i ..."), or what a
pronoun of the question refers to ("I have an old server. how do I reach it?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import STOPWORDS, words

_GREETING = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hiya|yo|heya|howdy|greetings|good (?:morning|afternoon|evening)|"
    r"thanks|thank you|thx|ty|ok|okay|so|um+|uh+|hmm+|please|pls|plz|sorry|excuse me|"
    r"quick question|one more(?: thing| question)?|question)(?:\s+(?:there|all|bot|guys|everyone))?"
    r"\b[\s!.,:;-]*)+",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\W*(?:who|whom|whose|whos|what|whats|which|when|where|wheres|why|how|hows|"
    r"is|are|was|were|am|do|does|did|can|could|will|would|should|shall|has|have|had|may|might|"
    r"isn'?t|aren'?t|wasn'?t|weren'?t|don'?t|doesn'?t|didn'?t|can'?t|won'?t|"
    r"tell me|explain|describe|any idea|anyone know|does anyone know|do you know)\b",
    re.IGNORECASE,
)
# Where a message breaks into parts: sentence ends (a run of ?!. counts once), dashes set off
# by spaces, and a comma or "and"/"but" right before a question word ("..., what year was").
_BREAK = re.compile(
    r"(?<=[?!])[?!.\s]*(?=\S)|(?<=[a-z]{3}[.])\s+(?=\S)|\s+[-\u2013\u2014]+\s+|\s*[\u2013\u2014]\s*"
    r"|[,;:]\s+(?=(?:(?:and|but|so|also)\s+)?(?:who|what|whats|which|when|where|why|how|is|are|"
    r"was|were|do|does|did|can|could|will|would|should|has|have)\b)",
    re.IGNORECASE,
)
MIN_PART_WORDS = 3  # a shorter part belongs to the one before it
MIN_CONTENT_WORDS = 2  # a question part with fewer content words is read with its context
# A part before the question that sets its scene: a condition ("if i sign a CLA, does ..."), or
# the thing a pronoun of the question stands for ("I have an old server. how do I reach it?").
_CONDITION = re.compile(
    r"^\W*(?:if|unless|once|after|before|since|whenever|suppose|supposing|assuming|say)\b",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|these|those|he|him|his|she|her)\b",
    re.IGNORECASE,
)
_IN_SENTENCE = re.compile(r"^[,;:]\s*$")  # a break inside one sentence (not "?", ".", a dash)
_SPACES = re.compile(r"\s+")
_LEADING_JOIN = re.compile(r"^\W*(?:and|but|also|so|plus|then)\s+", re.IGNORECASE)
_PUNCT_RUNS = re.compile(r"([?!.])[?!.]+")


@dataclass(frozen=True, slots=True)
class Asked:
    """The question to answer, and the other questions the message holds (to offer)."""

    question: str
    others: tuple[str, ...] = ()


def _is_question(part: str) -> bool:
    return part.rstrip().endswith("?") or bool(_QUESTION_START.match(part))


def _clean(part: str) -> str:
    part = _PUNCT_RUNS.sub(r"\1", part.strip())
    return _LEADING_JOIN.sub("", part).strip()


def _content(part: str) -> int:
    return sum(1 for w in words(part) if w not in STOPWORDS)


def read_message(text: str) -> Asked:
    """The question part of a chat message (see the module's docstring)."""
    stripped = _GREETING.sub("", text.strip(), count=1).strip() or text.strip()
    parts: list[str] = []
    seps: list[str] = []  # what came before each part
    start, sep = 0, ""
    for m in [*_BREAK.finditer(stripped), None]:
        end = m.start() if m else len(stripped)
        part = _clean(stripped[start:end])
        if re.search(r"\w", part):
            if parts and len(words(part)) < MIN_PART_WORDS:  # "..., and why?" stays with its part
                parts[-1] = f"{parts[-1]}, {part}"
            else:
                parts.append(part)
                seps.append(sep)
        if m:
            start, sep = m.end(), m.group()
    first = next((i for i, p in enumerate(parts) if _is_question(p)), None)
    whole = _clean(stripped) or text.strip()
    # "The M5 highway. Where does it go?": a question that names nothing needs what came before.
    if first is None or _content(parts[first]) < MIN_CONTENT_WORDS:
        return Asked(whole)
    question = parts[first]
    if first and _content(before := parts[first - 1]) and (
        _IN_SENTENCE.match(seps[first]) or _CONDITION.match(before)
        or _REFERS_BACK.search(question)
    ):
        # What the question stands on comes with it: "my .gz file is corrupt, how do i ...".
        question = before + (_SPACES.sub(" ", seps[first]) or " ") + question
    return Asked(question, tuple(p for p in parts[first + 1 :] if _is_question(p)))
