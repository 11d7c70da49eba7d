"""Typo mending for questions: a misspelt word becomes the index word it was meant to be.

People type fast on phones ("chemcial", "qusyar"); the documents spell their words right. A
question word the index does not know is mended to the nearest index word, unless it is a real
English word ("knight" is not a typo of "night": such a question is off topic). A half-typed last
word ("hezbo", as inline queries arrive) is completed to the most frequent word it starts.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.english import english_level, english_words
from bot.text import STOPWORDS


def warm_up() -> None:
    """Load the dictionary now rather than on the first misspelt question."""
    english_words()


# British and American spellings of one word: a question's "licence", "recognise" or "colour"
# is the document's "license", "recognize", "color", and the other way round. (ending, ending)
# pairs, each tried both ways, only where the question's word is not in the index.
_VARIANTS = (
    ("ise", "ize"), ("ised", "ized"), ("ises", "izes"), ("ising", "izing"),
    ("isation", "ization"), ("isations", "izations"), ("yse", "yze"), ("ysed", "yzed"),
    ("our", "or"), ("ours", "ors"), ("oured", "ored"), ("ouring", "oring"),
    ("ence", "ense"), ("ences", "enses"), ("tre", "ter"), ("tres", "ters"),
    ("ogue", "og"), ("ogues", "ogs"), ("elled", "eled"), ("elling", "eling"),
)


def spelling_variants(word: str) -> list[str]:
    """The word in the other spelling (British <-> American), as far as its ending tells."""
    out = []
    for a, b in _VARIANTS:
        for old, new in ((a, b), (b, a)):
            if word.endswith(old) and len(word) > len(old) + 2:
                out.append(word[: -len(old)] + new)
    return out


class Speller:
    """Mends question words against the index vocabulary: its words and how often each occurs."""

    def __init__(self, vocab_count: Mapping[str, int]) -> None:
        self._vocab = [w for w in vocab_count if w not in STOPWORDS and not w.isdigit()]
        self._vocab_set = set(self._vocab)
        self._sorted_vocab = sorted(self._vocab)
        # Misspelt question words ("wher", "whta") mend to stopwords and then drop out.
        self._targets = self._vocab + sorted(w for w in STOPWORDS if len(w) >= 3)
        self._vocab_count = dict(vocab_count)
        # Four-letter targets by each three letters they leave when one is dropped (built
        # when a three-letter word first needs it): "tok" -> {"took"}.
        self._short: dict[str, set[str]] | None = None
        # A cache per speller, so a reloaded engine's old one can be freed with it.
        self.correct = lru_cache(maxsize=8192)(self.correct)

    def correct(self, word: str) -> str:
        """Mend a misspelt word against the index vocabulary; real English words stay."""
        if len(word) == 3 and word.isalpha():
            return self._correct_short(word)
        if len(word) < 4 or word in self._vocab_set or word in STOPWORDS or not word.isalpha():
            return word
        for other in spelling_variants(word):
            if other in self._vocab_set:
                return other
        english = english_level(word)
        if english == 2:
            return word
        # A word that is English only by its stem ("runing" -> "rune") needs a near-certain match.
        cutoff = 90 if english == 1 else 85 if len(word) == 4 else 80 if len(word) <= 6 else 78
        best = process.extract(word, self._targets, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5)
        if not best:
            return word
        top = max(best, key=lambda m: (m[1], self._vocab_count.get(m[0], 0)))
        return top[0]

    def _correct_short(self, word: str) -> str:
        """A three-letter word is mended only by the two slips short words suffer, a letter left
        out ("tok", "hav") or two swapped ("teh"), and only to a single word: a changed letter
        would turn one short name into another ("rsa" into "dsa")."""
        if word in self._vocab_set or word in STOPWORDS or english_level(word):
            return word
        if self._short is None:  # built whole, then shared: the bot's threads see all or none
            short: dict[str, set[str]] = {}
            for t in self._targets:
                if len(t) == 4 and t.isalpha():
                    for i in range(4):
                        short.setdefault(t[:i] + t[i + 1 :], set()).add(t)
            self._short = short
        found = set(self._short.get(word, ()))
        for i in range(2):
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if swapped != word and (swapped in self._vocab_set or swapped in STOPWORDS):
                found.add(swapped)
        if len(found) == 1 or (found and found <= STOPWORDS):  # a slip of a stopword drops out
            return min(found)
        return word

    def complete(self, prefix: str) -> str:
        """The most frequent index word that starts with an unfinished last word."""
        if len(prefix) < 3 or prefix in self._vocab_set or prefix in STOPWORDS:
            return prefix
        lo = bisect.bisect_left(self._sorted_vocab, prefix)
        hi = bisect.bisect_left(self._sorted_vocab, prefix + "\U0010ffff")
        if lo == hi:
            return prefix
        return max(self._sorted_vocab[lo:hi], key=lambda w: (self._vocab_count.get(w, 0), w))
