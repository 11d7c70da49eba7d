"""The answer model shared by the CLI, the eval and the Telegram layer, and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What a citation shows of a document, and what /source lists."""

    id: str
    title: str
    publisher: str
    date: str
    paragraphs: int
    sentences: int


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A verbatim sentence of a document, with where it stands and what in it matched."""

    text: str
    document: str
    paragraph: int
    sentence: int
    score: float
    sentence_id: int = 0
    # (start, end) character spans inside `text` of the words that matched the question.
    highlights: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "document": self.document,
            "paragraph": self.paragraph,
            "sentence": self.sentence,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class FaqHit:
    id: str
    question: str
    answer: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer}


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    question: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question}


@dataclass(frozen=True, slots=True)
class Answer:
    """What the engine says to one question. When not answered, excerpts is empty."""

    query: str
    answered: bool
    confidence: float
    faq: FaqHit | None = None
    excerpts: tuple[Excerpt, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    # Excerpts past the first page, for a "More" button; never in the JSON form.
    more: tuple[Excerpt, ...] = field(default=(), compare=False)
    # The evidence score before calibration, for fitting the calibration; not in the JSON form.
    raw: float = field(default=0.0, compare=False)
    # The evidence the confidence was read from (bot/search/confidence.py), for refitting.
    evidence: tuple[float, ...] = field(default=(), compare=False)
    # Further questions the message held, answered from its first one (bot/message.py).
    others: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "faq": self.faq.to_json() if self.faq else None,
            "excerpts": [e.to_json() for e in self.excerpts],
            "suggestions": [s.to_json() for s in self.suggestions],
        }
