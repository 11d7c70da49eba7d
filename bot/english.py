"""What the index and the engine know of English itself: which words are ordinary ones.

A word the dictionary has ("knight") is no typo to mend; a name made only of such words
("Military Operations Command") is no person's. gcide is the dictionary english-words ships.
"""

from __future__ import annotations

from functools import lru_cache

from bot.text import stem, stems


@lru_cache(maxsize=1)
def english_words() -> tuple[frozenset[str], frozenset[str]]:
    from english_words import get_english_words_set

    words = get_english_words_set(["gcide"], lower=True, alpha=True)
    return frozenset(words), frozenset(stems(list(words)))


def english_level(word: str) -> int:
    """2: a dictionary word; 1: its stem is one (maybe an inflection, maybe a typo); 0: neither."""
    words, stem_set = english_words()
    if word in words:
        return 2
    return 1 if stem(word) in stem_set else 0
