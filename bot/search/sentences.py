"""A sentence as the index holds it: whole (IndexedSentence, its text read), or packed
(PackedSentence: its analysis as stored, what a build carries over without unpacking).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from bot.search.analysis import Key, cues_held
from bot.search.packed import INT, encode_sequence


@dataclass(slots=True)
class IndexedSentence:
    id: int
    document: str
    paragraph: int
    sentence: int
    text: str
    keys: frozenset[Key]
    weight: float = 0.0  # idf mass of all its concepts
    label: bool = False  # a heading or label (analysis.is_label): ranked below prose
    # What the sentence is about without naming it: its section's heading and the sentence
    # before it in its paragraph ("Disable CheckHostIP by default. The reason is ...").
    context: frozenset[Key] = frozenset()
    concepts: tuple[frozenset[Key], ...] = ()  # each concept's keys, in text order


LABEL = 1  # flag bit: the sentence is a heading or label; the answer cues held follow it


@dataclass(frozen=True, slots=True)
class PackedSentence:
    """A sentence's analysis as the index stores it: what an unchanged document's sentences
    are carried over as, never unpacked, by an incremental build."""

    id: int
    document: str
    paragraph: int
    sentence: int
    flags: int  # LABEL, and the answer cues held (analysis.cues_held) shifted by one
    # 32-bit key ids, as bytes (packed.view reads them):
    keys: bytes  # sorted
    context: bytes  # the keys its context holds and it does not, sorted
    sequence: bytes  # each concept's keys in text order (packed.encode_sequence)


def pack(s: IndexedSentence) -> PackedSentence:
    return PackedSentence(
        s.id, s.document, s.paragraph, s.sentence,
        (LABEL if s.label else 0) | cues_held(s.text) << 1,
        pack_keys(s.keys),
        pack_keys(s.context - s.keys),
        pack_keys(encode_sequence(s.concepts), ordered=True),  # type: ignore[arg-type]
    )


def pack_keys(keys: Iterable[Key], ordered: bool = False) -> bytes:
    """Key ids as stored: 32-bit ints, sorted unless their order is the point."""
    return array(INT, keys if ordered else sorted(keys)).tobytes()  # type: ignore[arg-type]
