"""Postings and the shortlist: which sentences hold a question's concepts, and how much.

The cost of answering follows the question's words, never the size of the corpus: a concept's
postings gather the candidate sentences, postings longer than candidate_cap only confirm them,
and at most SHORTLIST sentences go on to be scored. Each concept weighs its BM25 idf, a word the
documents do not have weighing as much as their rarest.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from operator import itemgetter
from typing import TypeVar

from bot.search.analysis import Concept, Key, cue_bits, lacks_cue_held
from bot.search.packed import INT, Rows, decode_sequence, view
from bot.search.sentences import LABEL, IndexedSentence, PackedSentence, pack

SHORTLIST = 300  # candidates kept for the finer scoring
SYNONYM_MATCH = 0.85  # share of a concept's weight earned through a synonym, not its own words
CONTEXT_MATCH = 0.5  # share earned by a sentence whose heading or previous sentence holds it

_T = TypeVar("_T")


def coverage(
    query: list[Concept], weights: list[float], postings: Mapping[Key, Iterable[_T]]
) -> dict[_T, float]:
    """Per item of the postings: the question's weight it holds, a concept counting whole
    where the item has its own word and SYNONYM_MATCH of it where only a synonym."""
    acc: dict[_T, float] = defaultdict(float)
    for c, w in zip(query, weights, strict=True):
        whole, part = holders(c, postings)
        for item in whole:
            acc[item] += w
        for item in part:
            acc[item] += w * SYNONYM_MATCH
    return acc


def holders_of(keys: Iterable[Key], postings: Mapping[Key, Iterable[_T]]) -> set[_T]:
    """The items holding any of the keys."""
    out: set[_T] = set()
    for k in keys:
        out.update(postings.get(k, ()))
    return out


def holders(c: Concept, postings: Mapping[Key, Iterable[_T]]) -> tuple[set[_T], set[_T]]:
    """The items holding the concept's own word, and those holding only a synonym of it."""
    whole = set(postings.get(c.exact, ()))
    part: set[_T] = set()
    for k in c.keys:
        if k != c.exact:
            part.update(postings.get(k, ()))
    return whole, part - whole


def match(c: Concept, keys: frozenset[Key]) -> float:
    """How much of a concept a text with these keys holds: whole, through a synonym, or not."""
    if c.exact in keys:
        return 1.0
    return SYNONYM_MATCH if c.keys & keys else 0.0


class SentencePostings:
    """The sentences, the sentences holding each key, and the idf that follows from them.

    Filled one sentence at a time (add, then finish) when the index is built, or read back
    from what that stored (to_blobs, from_blobs): packed arrays, never one object per
    sentence, so that a library of 100,000 sentences loads in well under a second. A
    sentence's text stays in the index until asked for (`text_of`).
    """

    def __init__(self) -> None:
        self.sentences = SentenceView(self)
        self.documents: list[str] = []
        self._doc_index: dict[str, int] = {}
        self.ids = array(INT)
        self.doc = array(INT)
        self.paragraph = array(INT)
        self.number = array(INT)
        self.flags = bytearray()
        self.weight = array("d")
        self._pending: list[PackedSentence] = []
        self._texts: dict[int, str] = {}
        self.text_of: Callable[[int], str] = self._texts.__getitem__
        self.keys = Rows.build([])
        self.sequence = Rows.build([])
        self.postings = Rows.build([])
        self.context = Rows.build([])
        # Each sentence id's place in the columns, -1 for none: an array over the ids, not a
        # dict (11 MB at 100,000 sentences); ids are dense, only a changed document's leave gaps.
        self._pos = array(INT)
        self.n = 1
        # Caches per index (not on the class, which would keep every engine alive).
        self.df = lru_cache(maxsize=65536)(self.df)
        self.concepts_of = lru_cache(maxsize=4096)(self.concepts_of)

    def add(self, sentence: IndexedSentence) -> None:
        """One sentence, in id order."""
        self._texts[sentence.id] = sentence.text
        self.add_packed(pack(sentence))

    def add_packed(self, sentence: PackedSentence) -> None:
        """One sentence as the index stored it, in id order."""
        doc = self._doc_index.setdefault(sentence.document, len(self._doc_index))
        if doc == len(self.documents):
            self.documents.append(sentence.document)
        self.ids.append(sentence.id)
        self.doc.append(doc)
        self.paragraph.append(sentence.paragraph)
        self.number.append(sentence.sentence)
        self.flags.append(sentence.flags)
        self._pending.append(sentence)

    def finish(self) -> None:
        """Once every sentence is in: the postings, the corpus size, each sentence's idf mass."""
        pending, self._pending = self._pending, []
        self.keys = Rows.join([s.keys for s in pending])
        self.sequence = Rows.join([s.sequence for s in pending])
        context = Rows.join([s.context for s in pending])
        width = 1 + max(max(self.keys.values, default=-1), max(context.values, default=-1))
        self.postings = _to_ids(self.keys.inverted(width), self.ids)
        self.context = _to_ids(context.inverted(width), self.ids)
        self.find_positions()
        self.weigh()

    def weigh(self) -> None:
        """Each sentence's idf mass, from the postings as they now are."""
        idf = [self._key_idf(k) for k in range(len(self.postings.offsets) - 1)]
        self.weight = array("d", (sum(map(idf.__getitem__, row)) for row in self.keys.rows()))

    def find_positions(self) -> None:
        """Each sentence id's place in the columns, and the corpus size."""
        pos = array(INT, [-1]) * (max(self.ids, default=-1) + 1)
        for i, sid in enumerate(self.ids):
            pos[sid] = i
        self._pos = pos
        self.n = max(1, len(self.ids))

    def _key_idf(self, key: int) -> float:
        return self.idf_df(self.postings.size(key))

    # ----------------------------------------------------------- stored form
    def to_blobs(self) -> dict[str, bytes]:
        """Everything but the texts, as named blobs for the index."""
        out = {
            "ids": self.ids.tobytes(),
            "doc": self.doc.tobytes(),
            "paragraph": self.paragraph.tobytes(),
            "number": self.number.tobytes(),
            "flags": bytes(self.flags),
            "weight": self.weight.tobytes(),
            "documents": "\n".join(self.documents).encode(),
        }
        for name in ("keys", "sequence", "postings", "context"):
            rows: Rows = getattr(self, name)
            out[name + ".offsets"], out[name + ".values"] = rows.to_bytes()
        return out

    @classmethod
    def from_blobs(
        cls, blobs: Mapping[str, bytes], text_of: Callable[[int], str]
    ) -> SentencePostings:
        """The postings as to_blobs stored them; texts come from `text_of` when needed."""
        self = cls()
        # Read in place: views of the stored bytes, never copies (see packed.py).
        self.ids, self.doc = view(blobs["ids"]), view(blobs["doc"])  # type: ignore[assignment]
        self.paragraph = view(blobs["paragraph"])  # type: ignore[assignment]
        self.number = view(blobs["number"])  # type: ignore[assignment]
        self.flags = blobs["flags"]  # type: ignore[assignment]
        self.weight = view(blobs["weight"], "d")  # type: ignore[assignment]
        self.documents = blobs["documents"].decode().split("\n") if blobs["documents"] else []
        self._doc_index = {d: i for i, d in enumerate(self.documents)}
        for name in ("keys", "sequence", "postings", "context"):
            setattr(self, name, Rows.from_bytes(blobs[name + ".offsets"], blobs[name + ".values"]))
        self.text_of = text_of
        self.find_positions()
        return self

    # ------------------------------------------------------------ per sentence
    def position(self, sid: object) -> int:
        """A sentence id's place in the columns, or -1 when the index has no such sentence."""
        if type(sid) is not int or not 0 <= sid < len(self._pos):
            return -1
        return self._pos[sid]

    def match(self, c: Concept, sid: int) -> float:
        """How much of a concept the sentence holds: whole, through a synonym, or not (match()
        on its keys, without unpacking them)."""
        i, keys = self._pos[sid], self.keys
        if type(c.exact) is int and keys.holds(i, c.exact):
            return 1.0
        for k in c.keys:
            if k != c.exact and type(k) is int and keys.holds(i, k):
                return SYNONYM_MATCH
        return 0.0

    def concepts_of(self, sid: int) -> list[frozenset[int]]:
        """Each concept's keys in text order: for what looks at words side by side."""
        return decode_sequence(self.sequence.get(self._pos[sid], ()))  # type: ignore[arg-type]

    def place_of(self, sid: int) -> tuple[int, int]:
        """The sentence's document and paragraph (by their numbers in the index)."""
        i = self._pos[sid]
        return self.doc[i], self.paragraph[i]

    def document_of(self, sid: int) -> str:
        return self.documents[self.doc[self._pos[sid]]]

    def lacks_cue(self, sid: int, qtypes: frozenset[str]) -> bool:
        """Whether the sentence lacks what one of the question types needs (a number...)."""
        return lacks_cue_held(self.flags[self._pos[sid]] >> 1, qtypes)

    def facts(
        self, sids: Iterable[int], qtypes: frozenset[str]
    ) -> Iterator[tuple[bool, bool, float]]:
        """For each sentence: whether it lacks a cue the question needs, whether it is a
        label, and its idf mass; one look-up each (the scoring of a whole shortlist)."""
        need = cue_bits(qtypes)
        pos, flags, weight = self._pos, self.flags, self.weight
        for sid in sids:
            i = pos[sid]
            f = flags[i]
            yield (f >> 1) & need != need, bool(f & LABEL), weight[i]

    # ------------------------------------------------------------------ idf
    def idf(self, concept: Concept) -> float:
        return self.idf_df(self.df(concept.keys))

    def idf_df(self, df: int) -> float:
        if df == 0:  # unknown to the documents: as telling as the rarest word they have
            df = 1
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def df(self, keys: frozenset[Key]) -> int:
        """Sentences holding any of the keys; cached, a union is costly for common ones."""
        if len(keys) == 1:
            return self.postings.size(next(iter(keys)))
        seen: set[int] = set()
        for k in keys:
            seen.update(self.postings.get(k, ()))  # type: ignore[arg-type]
        return len(seen)

    def shortlist(self, query: list[Concept], weights: list[float], cap: int) -> dict[int, float]:
        """The question's weight each candidate sentence covers, for at most SHORTLIST of them.

        Concepts held by more than `cap` sentences gather nothing while rarer ones do: they
        only add to the candidates the rare ones found.
        """
        acc: dict[int, float] = defaultdict(float)
        common: list[tuple[Concept, float]] = []
        for c, w in zip(query, weights, strict=True):
            if self.df(c.keys) > cap:  # cached: a common word's postings are never copied
                common.append((c, w))
                continue
            if len(c.keys) == 1:  # most concepts: one word, no synonym, no set to build
                for sid in self.postings.get(c.exact, ()):  # type: ignore[union-attr]
                    acc[sid] += w
                # Held only by the sentence's context (never by one holding it itself).
                for sid in self.context.get(c.exact, ()):  # type: ignore[union-attr]
                    acc[sid] += w * CONTEXT_MATCH
                continue
            exact, other = holders(c, self.postings)
            for sid in exact:
                acc[sid] += w
            for sid in other:
                acc[sid] += w * SYNONYM_MATCH
            for sid in holders_of(c.keys, self.context) - exact - other:
                acc[sid] += w * CONTEXT_MATCH
        if not acc and common:  # only common words: gather from the rarest of them
            c, w = min(common, key=lambda cw: self.df(cw[0].keys))
            common.remove((c, w))
            for k in c.keys:
                for sid in self.postings.get(k, ())[:cap]:  # type: ignore[index]
                    acc[sid] = max(acc.get(sid, 0.0), w * self.match(c, sid))
        if len(acc) > SHORTLIST:  # common words and cues only reorder the best partial matches
            # sorted() is heapq.nlargest's documented equivalent, and faster on thousands
            acc = dict(sorted(acc.items(), key=itemgetter(1), reverse=True)[:SHORTLIST])
        # match() inlined: a few hundred binary searches in place per common concept.
        pos, off, values = self._pos, self.keys.offsets, self.keys.values
        for c, w in common:
            exact = c.exact if type(c.exact) is int else None
            others = [k for k in c.keys if k != c.exact and type(k) is int]
            for sid in acc:
                i = pos[sid]
                a, b = off[i], off[i + 1]
                if exact is not None:
                    j = bisect_left(values, exact, a, b)
                    if j < b and values[j] == exact:
                        acc[sid] += w
                        continue
                for k in others:
                    j = bisect_left(values, k, a, b)
                    if j < b and values[j] == k:
                        acc[sid] += w * SYNONYM_MATCH
                        break
        return acc


def _to_ids(rows: Rows, ids: array) -> Rows:
    """Rows of positions made rows of the sentence ids at those positions."""
    return Rows(rows.offsets, array(INT, [ids[p] for p in rows.values]))


class SentenceView(Mapping[int, IndexedSentence]):
    """The sentences by id, each made whole (its text read) only when asked for."""

    def __init__(self, postings: SentencePostings) -> None:
        self._p = postings

    def __getitem__(self, sid: int) -> IndexedSentence:
        p = self._p
        i = p.position(sid)
        if i < 0:
            raise KeyError(sid)
        concepts = tuple(decode_sequence(p.sequence.get(i, ())))  # type: ignore[arg-type]
        return IndexedSentence(
            sid, p.documents[p.doc[i]], p.paragraph[i], p.number[i], p.text_of(sid),
            frozenset(p.keys.get(i, ())),  # type: ignore[arg-type]
            weight=p.weight[i], label=bool(p.flags[i] & LABEL), concepts=concepts,
        )

    def __contains__(self, sid: object) -> bool:
        return self._p.position(sid) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._p.ids)

    def __len__(self) -> int:
        return len(self._p.ids)
