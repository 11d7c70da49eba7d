"""Aliases that come with the document, mined from its text when the index is built.

A newsroom's article names its people and bodies more than one way: "Hayat Tahrir al-Sham (HTS)"
then "HTS"; "Geir Pedersen" then "Pedersen"; "the UN special envoy for Syria, Geir Pedersen";
"President Bashar al-Assad". A reader asks with any of them, so the engine must treat each
group as one name without anyone curating it. Curated `aliases.toml` adds to these groups.

Only patterns that writers use to introduce a name are read, so a group is rarely wrong:
an abbreviation in brackets whose letters are the initials of the words before it (or the
other way round), a full name whose last word later stands alone, a role set off by a comma
before a name, and a title word before a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Words that introduce a person's role: "President X", "the UN envoy, X".
TITLES = frozenset(
    """president vice-president president-elect prime minister chancellor secretary
    secretary-general envoy ambassador king queen prince princess emperor pope general
    commander colonel chief leader spokesperson spokesman spokeswoman director chairman
    chairwoman chair founder ceo governor mayor senator judge professor dr minister""".split()
)
_PARTICLES = frozenset("al el bin ibn abu van von de da di du le la der den".split())
_NAME_WORD = r"(?:[A-Z][\w'\u2019]*(?:-[A-Za-z][\w'\u2019]*)*)"
_LINK = r"(?:\s+(?:(?:al|el|bin|ibn|abu|van|von|de|da|di|du|le|la|der|den)[\s-])?)"
_NAME = re.compile(rf"\b{_NAME_WORD}(?:{_LINK}{_NAME_WORD}){{1,3}}")
_BRACKET = re.compile(r"\(\s*([^()]{1,80}?)\s*\)")
_ABBREVIATION = re.compile(r"^(?:[A-Z]\.?){2,8}$|^[A-Z][A-Za-z]{0,2}[A-Z]{1,6}s?$")
_ROLE_BEFORE = re.compile(
    r"\b(?:the\s+)?((?:[A-Z]{2,5}\s+|[A-Z][a-z]+\s+)?(?:[a-z-]+\s+){0,2}"
    rf"(?:{'|'.join(sorted(TITLES, key=len, reverse=True))})"
    r"(?:\s+(?:for|of)\s+(?:the\s+)?[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,2})?),\s+$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class MinedGroup:
    """Terms the document uses for one thing, and which pattern found them (for the log)."""

    terms: tuple[str, ...]
    how: str


def _initials(words: list[str]) -> str:
    """Capitalised words' initials; a hyphenated word gives one per capitalised part."""
    out = []
    for word in words:
        for part in word.split("-"):
            if part[:1].isupper():
                out.append(part[0])
    return "".join(out).upper()


def _letters(abbreviation: str) -> str:
    return re.sub(r"[^A-Za-z]", "", abbreviation.removesuffix("s")).upper()


def abbreviations(text: str) -> list[MinedGroup]:
    """"Hayat Tahrir al-Sham (HTS)" and "HTS (Hayat Tahrir al-Sham)"."""
    found = []
    for m in _BRACKET.finditer(text):
        inside = m.group(1).strip()
        before = text[max(0, m.start() - 200) : m.start()].split()
        if _ABBREVIATION.match(inside):
            letters = _letters(inside)
            for n in range(1, min(len(before), 12) + 1):
                span = before[-n:]
                if not span[0][:1].isupper():
                    continue
                if _initials(span) == letters:
                    found.append(MinedGroup((_strip(" ".join(span)), inside), "abbreviation"))
                    break
        elif before and _ABBREVIATION.match(_strip(before[-1])):
            words = inside.split()
            if _initials(words) == _letters(_strip(before[-1])) and words[0][:1].isupper():
                found.append(MinedGroup((inside, _strip(before[-1])), "abbreviation"))
    return found


def _strip(term: str) -> str:
    return term.strip(" ,;:.\"'\u201c\u201d\u2018\u2019")


def _last_name(name: str) -> str:
    """"Bashar al-Assad" -> "Assad"; "Geir Pedersen" -> "Pedersen"."""
    last = re.split(r"\s+", name)[-1]
    head, _, tail = last.partition("-")
    return tail if tail and head.lower() in _PARTICLES else last


def people(text: str, is_word: Callable[[str], bool]) -> list[MinedGroup]:
    """A full name whose last word also stands alone: "Donald Trump" ... "Trump"; a name set
    off after its role ("the UN special envoy for Syria, Geir Pedersen") takes the role as
    another name, and a particle run into the name ("alAssad") another spelling. A title before
    a name ("President Bashar al-Assad") is no term of its own:
    it would swallow the word "president" wherever it stands before the name.

    `is_word` says whether a lower-case word is ordinary English. A person's name starts with
    a given name that is not ("Geir", "Bashar", "Donald"): so "Military Operations Command" is
    no person, and "After Homs" at a sentence's start loses its "After".
    """
    names: dict[str, set[str]] = {}
    mentions: dict[str, int] = {}
    spans: list[tuple[int, int]] = []  # where full names stand: their last words are not alone
    for m in _NAME.finditer(text):
        spans.append(m.span())
        words = [re.sub(r"['\u2019]s$", "", w) for w in m.group(0).split()]
        while words and (words[0].lower() in TITLES or is_word(words[0].lower())):
            words.pop(0)  # "Syrian President Bashar al-Assad": the name is "Bashar al-Assad"
        if len(words) < 2 or is_word(words[0].lower()):
            continue
        full = " ".join(words)
        terms = names.setdefault(full, set())
        mentions[full] = mentions.get(full, 0) + 1
        role = _ROLE_BEFORE.search(text[max(0, m.start() - 120) : m.start()])
        if role:
            terms.add(_strip(role.group(1)))
    # A last name standing alone names the person it belongs to, when only one full name has
    # it (else the one named most: "Assad" is Bashar al-Assad more often than his father).
    owners: dict[str, list[str]] = {}
    for full in names:
        owners.setdefault(_last_name(full), []).append(full)
    for last, fulls in owners.items():
        alone = re.compile(rf"(?<![\w-]){re.escape(last)}(?![\w-])")
        if len(last) <= 2 or not any(
            not any(a <= m.start() < b for a, b in spans) for m in alone.finditer(text)
        ):
            continue
        ranked = sorted(fulls, key=lambda f: -mentions[f])
        if len(ranked) == 1 or mentions[ranked[0]] > mentions[ranked[1]]:
            names[ranked[0]].add(last)
            joined = joined_last_name(ranked[0])
            if joined:
                names[ranked[0]].add(joined)
    for full, terms in names.items():
        terms.update(joined_spellings(full))
    return [MinedGroup((full, *sorted(terms)), "person") for full, terms in names.items() if terms]


def joined_spellings(name: str) -> set[str]:
    """Other ways people type a name with a particle: "Bashar al-Assad" as "Bashar Alassad" (a
    hyphen or a space is no difference to the engine already; a particle run into the name is;
    case never is). The last name alone ("Alassad") goes where the last name goes."""
    out = set()
    for m in re.finditer(r"\b(al|el|bin|ibn|abu|van|von|de|da|di|du|le|la)[\s-]+([A-Z][\w']+)",
                         name, re.IGNORECASE):
        joined = (m.group(1) + m.group(2).lower()).capitalize()
        out.add(name[: m.start()] + joined + name[m.end() :])
    return {spelling.strip() for spelling in out} - {name}


def joined_last_name(name: str) -> str | None:
    """"Bashar al-Assad" -> "Alassad": the last name with its particle run in, if it has one."""
    m = re.search(r"\b(al|el|bin|ibn|abu|van|von|de|da|di|du|le|la)[\s-]+([A-Z][\w']+)$", name,
                  re.IGNORECASE)
    return (m.group(1) + m.group(2).lower()).capitalize() if m else None


def mine(texts: Iterable[str], is_word: Callable[[str], bool]) -> list[MinedGroup]:
    """Every group the documents give, merged where they share a term (case aside)."""
    return merge(g for text in texts for g in found_in(text, is_word))


def found_in(text: str, is_word: Callable[[str], bool]) -> list[MinedGroup]:
    """The groups one document gives, unmerged: what an index keeps per document, so that a
    build mines only the documents that changed."""
    return abbreviations(text) + people(text, is_word)


def merge(groups: Iterable[MinedGroup]) -> list[MinedGroup]:
    """Groups sharing a term (compared without case) become one, first term first."""
    merged: list[tuple[list[str], str]] = []
    index: dict[str, int] = {}
    for group in groups:
        hits = sorted({index[t.casefold()] for t in group.terms if t.casefold() in index})
        if not hits:
            merged.append((list(group.terms), group.how))
            target = len(merged) - 1
        else:
            target = hits[0]
            for other in hits[1:]:  # this group joins earlier ones: fold them together
                merged[target][0].extend(merged[other][0])
                merged[other] = ([], "")
            merged[target][0].extend(group.terms)
        for term in merged[target][0]:
            index[term.casefold()] = target
    out = []
    for terms, how in merged:
        unique = list(dict.fromkeys(t for t in terms if t))
        if len(unique) >= 2:
            out.append(MinedGroup(tuple(unique), how))
    return out
