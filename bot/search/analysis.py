"""Text -> concepts: what a question, a sentence or a FAQ phrasing is about, as keys.

A concept is an alias or synonym group from seeds/aliases.toml when its words appear, else one
content word by its stem. Two texts share a concept when their key sets meet. A question's
misspelt and half-typed words are mended first (spelling.py), so the index and the question
meet on the same stems. What a question asks for (its type), and what a sentence must hold to
answer it (its cue), are read here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.search.spelling import Speller
from bot.text import STOPWORDS, stem, tokens

Key = int | str  # int: known to the index; str: a word only the question has


@dataclass(frozen=True, slots=True)
class Concept:
    keys: frozenset[Key]  # the concept matches any text holding one of these
    exact: Key  # the words as written: a match on it beats a match through a synonym
    start: int  # span in the text it came from
    end: int
    words: tuple[str, ...]


# "how many", "how far": the second word belongs to the question type, not the topic.
_HOW_WORDS = frozenset(["many", "much", "far", "long", "close", "near", "often", "soon"])

# A sentence that opens with a pronoun, or quotes "he said", is about whom the last one named.
# A heading, a label, a caption: a paragraph of one short line that is no sentence of prose.
# It names a topic without saying anything of it, so it is not quoted as an answer while a
# sentence of its section matches; its words instead carry into that section.
LABEL_WORDS = 8
_NUMBERED = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[IVX]+\.|[A-Z]\.)\s+\S")
# "field: value" ("Report bugs to: bug-gzip@gnu.org"): a short line that says something.
_FIELD = re.compile(r"^[^:]*[a-z][^:]*:\s+\S")
_PROSE_END = re.compile(r"[.!?\u2019\"')\]]\s*$")


def is_label(text: str, alone: bool) -> bool:
    """Whether a sentence is a heading or label rather than prose: short and numbered ("6.
    Trademarks.", even at the head of a paragraph); short, alone in its paragraph, and in
    capitals or without a sentence's end ("--synchronous", "Version 2.0, January 2004"); or any
    line that only leads into what follows ("... may affect existing configurations:")."""
    stripped = text.strip()
    if stripped.endswith(":"):
        return True
    if len(stripped.split()) > LABEL_WORDS:
        return False
    if _NUMBERED.match(stripped):  # a run-in heading: "6. Trademarks. This License does not"
        return True
    if not alone:
        return False
    if _FIELD.match(stripped):  # "Report bugs to: bug-gzip@gnu.org" says something
        return False
    letters = [c for c in stripped if c.isalpha()]
    shouted = bool(letters) and all(c.isupper() for c in letters)
    return shouted or bool(_NUMBERED.match(stripped)) or not _PROSE_END.search(stripped)


REFERS_BACK = re.compile(
    r"^\W*(\w+\W+)?(he|she|his|her|him|they|their|them|this|these|it)\b"
    r"|\b(he|she|they) (said|added|told|explained)\b",
    re.I,
)


def spelling_words(text: str) -> list[str]:
    """A text's words the speller may mend a question's words towards: all but stopwords."""
    return [w for w, *_ in tokens(text) if w not in STOPWORDS]


# Question types, and what an answer to each must hold. A "how many" question answered by a
# sentence without a number is most likely a question the document does not answer.
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|dozens?|several|multiple"
)
_TIME_WORDS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|night|morning|evening|"
    r"afternoon|today|yesterday|tomorrow|recently|hours?|days?|weeks?|months?|years?|"
    r"january|february|march|april|june|july|august|september|october|november|december|"
    r"(?-i:May)"  # the month, not the verb ("you may not use this file")
)
QTYPES: list[tuple[str, re.Pattern[str]]] = [
    ("quantity", re.compile(r"\bhow (many|much)\b|\bnumber of\b|\bhow (old|big|large)\b")),
    ("duration", re.compile(r"\bhow long\b")),
    ("distance", re.compile(r"\bhow (far|close|near)\b|\bdistance\b")),
    ("time", re.compile(r"\bwhen\b|\bwhat (time|day|date|year)\b|\bwhich (day|year)\b")),
    ("person", re.compile(r"\bwho(m|se|s)?\b")),
    (
        "place",
        re.compile(
            r"\bwhere\b|\bwheres\b|\b(which|what) (\w+ )?"
            r"(city|town|country|place|capital|region|area|province|border|crossing)\b"
        ),
    ),
    ("reason", re.compile(r"\bwhy\b|\bwhat for\b")),
]
SPECIFIC = {"quantity", "duration", "distance", "time", "person", "place", "reason"}
# The cue an answer to a question type holds; types without one (where, why) take any.
ANSWER_HOLDS: dict[str, re.Pattern[str]] = {
    "quantity": re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I),
    "duration": re.compile(rf"\b({_NUMBER_WORDS}|\d+) ({_TIME_WORDS})\b|\bsince\b", re.I),
    "distance": re.compile(r"\d+ ?(km|kilomet\w+|miles?|metres?|meters?)\b", re.I),
    "time": re.compile(rf"\b({_TIME_WORDS})\b|\b\d+ ?(am|pm)\b|\b(1[89]|20)\d\d\b", re.I),
    # Someone named: a capitalised word inside the sentence (not its first), an e-mail
    # address, a company. Prose about people names them all along; in a manual or a licence a
    # "who" is answered by the one line that names somebody ("Copyright ... Foundation, Inc.").
    "person": re.compile(
        r"(?<=[a-z0-9,;:)\]] )[A-Z][a-z]+|\b[\w.+-]+@[\w-]+\.\w+|\b(Inc|Ltd|LLC|GmbH|Foundation)\b"
    ),
}

_WH = re.compile(r"\b(who|whom|whose|whos|what|whats|which|when|where|wheres|why|how)\b")


def question_types(norm: str) -> frozenset[str]:
    """The type of the question's first wh-word: in "what did he say when ..." nothing specific
    is asked about time, and in "where was he when ..." only the place is."""
    first = _WH.search(norm)
    limit = first.start() if first else len(norm)
    found = [
        (m.start(), name)
        for name, pattern in QTYPES
        if (m := pattern.search(norm)) and m.start() <= limit
    ]
    return frozenset({min(found)[1]}) if found else frozenset()


_CUE_BITS = {name: 1 << i for i, name in enumerate(ANSWER_HOLDS)}


def cues_held(text: str) -> int:
    """The answer cues a sentence holds, one bit each: read once when the index is built, so
    that answering never needs the sentence's text to tell."""
    return sum(bit for name, bit in _CUE_BITS.items() if ANSWER_HOLDS[name].search(text))


def cue_bits(qtypes: frozenset[str]) -> int:
    """The cues (as cues_held bits) that answer the question types all need."""
    return sum(_CUE_BITS.get(t, 0) for t in qtypes)


def lacks_cue_held(held: int, qtypes: frozenset[str]) -> bool:
    """Whether a sentence holding the cues `held` (cues_held) lacks what answers one of the
    question types."""
    need = cue_bits(qtypes)
    return held & need != need


def lacks_cue(text: str, qtypes: frozenset[str]) -> bool:
    """Whether a sentence lacks what answers one of the question types."""
    return lacks_cue_held(cues_held(text), qtypes)


# A command-line option of one letter ("gzip -c", "-N"): its letter is no lone letter to drop.
_OPTION = re.compile(r"(?:^|[\s(\[,/])-[A-Za-z]$")


class Analyzer:
    """The key table and the alias and synonym terms; turns any text into its concepts."""

    def __init__(self, key_ids: dict[str, int] | None = None) -> None:
        # The index's key table when one is loaded (store.py): its ids must keep their names.
        # Taken as it is, not copied: tens of thousands of names at 100,000 sentences.
        self._key_ids: dict[str, int] = key_ids if key_ids is not None else {}
        self._phrases: dict[tuple[str, ...], tuple[frozenset[Key], bool]] = {}
        # Longest term starting with each stem: most words start none, so most positions need
        # one lookup instead of one per possible length.
        self._longest_from: dict[str, int] = {}
        self.term_words: set[str] = set()  # words of alias and synonym terms, for typo mending
        self.alias_keys: set[Key] = set()  # groups that name one thing (a person, a country)
        self.speller = Speller({})  # replaced once the index's vocabulary is known

    def add_group(self, name: str, kind: str, terms: Iterable[str]) -> None:
        """An alias ("alias") or synonym ("synonym") group: each term becomes a phrase."""
        key = self._key(name)
        if kind == "alias":
            self.alias_keys.add(key)
        for term in terms:
            self._add_phrase(term, key)

    def _key(self, name: str) -> int:
        return self._key_ids.setdefault(name, len(self._key_ids))

    def key_table(self) -> list[tuple[int, str]]:
        """(id, name) of every key, for the index to store."""
        return [(i, name) for name, i in self._key_ids.items()]

    def phrase_names(self) -> dict[tuple[str, ...], tuple[frozenset[str], bool]]:
        """Each phrase's stems, the names of its groups, and whether it must be in capitals:
        comparing two builds' tables tells which words they read differently."""
        names = {i: name for name, i in self._key_ids.items()}
        return {
            st: (frozenset(names[k] for k in keys if isinstance(k, int)), upper)
            for st, (keys, upper) in self._phrases.items()
        }

    def _lookup(self, name: str, grow: bool) -> Key:
        """Key of a name; a question's unknown word stays a string so the table never grows."""
        return self._key(name) if grow else self._key_ids.get(name, name)

    def _add_phrase(self, term: str, key: int) -> None:
        ws = tuple(w for w, *_ in tokens(term))
        if not ws:
            return
        self.term_words.update(ws)
        st = tuple(stem(w) for w in ws)
        upper = len(ws) == 1 and ws[0] in STOPWORDS  # "US" must not match "us"
        old = self._phrases.get(st)
        keys = (old[0] if old else frozenset()) | {key}
        self._phrases[st] = (keys, upper)
        self._longest_from[st[0]] = max(self._longest_from.get(st[0], 1), len(st))
        if ws[0] == "the" and len(ws) > 2:  # "the world body" also as "world body"
            self._phrases.setdefault(st[1:], (keys, False))
            self._longest_from[st[1]] = max(self._longest_from.get(st[1], 1), len(st) - 1)

    def concepts(self, text: str, query: bool = False, grow: bool = False) -> list[Concept]:
        """The concepts of a text. A query has its misspelt words mended first.

        Only loading grows the key table (grow=True); afterwards a word the index has never
        seen stays a string key, so answering never writes to shared state.
        """
        toks = tokens(text)
        if len(toks) > 2 and all(t[3] for t in toks if len(t[0]) > 1):  # SHOUTED: case says nothing
            toks = [(w, s, e, False) for w, s, e, _ in toks]
        toks = [t for i, t in enumerate(toks) if not (i and toks[i - 1][0] == "how"
                                                      and t[0] in _HOW_WORDS)]
        if query:
            toks = [(self.speller.correct(w), s, e, up) for w, s, e, up in toks]
            if toks and toks[-1][2] == len(text.rstrip()) and not text[-1:].isspace():
                # The last word may be half typed (inline search as you type): "hezbo" -> ...
                w, s, e, up = toks[-1]
                toks[-1] = (self.speller.complete(w), s, e, up)
        st = [stem(t[0]) for t in toks]
        out: list[Concept] = []
        i = 0
        while i < len(toks):
            for n in range(min(self._longest_from.get(st[i], 0), len(toks) - i), 0, -1):
                hit = self._phrases.get(tuple(st[i : i + n]))
                if hit is None:
                    continue
                keys, needs_upper = hit
                if needs_upper and not toks[i][3] and not (i > 0 and toks[i - 1][0] == "the"):
                    continue
                if n == 1 and toks[i][0] in STOPWORDS and not needs_upper:
                    continue
                names = keys & self.alias_keys
                exact: Key = (
                    min(names) if names else self._lookup("p:" + " ".join(st[i : i + n]), grow)
                )
                ws = tuple(t[0] for t in toks[i : i + n])
                if n > 1 and not query:  # "the UN special envoy" also answers to "UN", "envoy"
                    keys = keys | self._word_keys(toks[i : i + n], st[i : i + n])
                out.append(Concept(keys | {exact}, exact, toks[i][1], toks[i + n - 1][2], ws))
                i += n
                break
            else:
                w, s, e, _ = toks[i]
                if len(w) == 1 and _OPTION.match(text, max(0, s - 2), e):  # "-c", "-N"
                    k = self._lookup("o:-" + text[s:e], grow)
                    out.append(Concept(frozenset({k}), k, s, e, (w,)))
                elif w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
                    k = self._lookup("p:" + st[i], grow)
                    out.append(Concept(frozenset({k}), k, s, e, (w,)))
                i += 1
        return out

    def without_synonyms(self, c: Concept) -> Concept:
        """The concept by its own words and the names of its thing, without words of like
        meaning: one word alone ("quit") says too little to stand for its synonyms."""
        keys = frozenset(k for k in c.keys if k == c.exact or k in self.alias_keys)
        return c if keys == c.keys else Concept(keys, c.exact, c.start, c.end, c.words)

    def _word_keys(self, toks: list[tuple[str, int, int, bool]], st: list[str]) -> set[Key]:
        """Names and synonym groups that single words of a phrase have on their own (index side).

        "the UN special envoy" also answers to "UN" and "envoy"; plain words inside a name
        ("nations" in "United Nations") do not leak out of it.
        """
        out: set[Key] = set()
        for (w, *_), s in zip(toks, st, strict=True):
            hit = self._phrases.get((s,))
            if hit and w not in STOPWORDS:
                out |= hit[0]
        return out
