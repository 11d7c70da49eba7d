"""`python -m bot faq lint`: checks that a curated FAQ says only what the document says, and that
its entries do not get in each other's way.

Why: a FAQ answer is shown above the sentences it cites, in the bot's voice. If it adds a number,
a date or a name that those sentences do not hold, the bot puts words in the document's mouth;
nothing else would catch it, because the answer text is never matched against anything. The other
checks find what makes an entry lose its own questions: a phrasing two entries share, a phrasing
the engine sends to another entry, too few phrasings, cites that are not the best support.

Errors (the answer states something its cites lack, a cite that does not resolve, a phrasing in
two entries) fail `faq lint` and the tests on the bundled FAQ; warnings are for the editor to
weigh. `index` prints all of them as warnings and builds anyway.

What counts as stated: every number (digits literally, thousands commas aside; spelled numbers by
their value, so "24" and "twenty-four" meet either way) and every capitalised word, but for an
ordinary English word opening a sentence that the documents never capitalise mid-sentence ("The",
"Yes", but not "Trump"). A name is supported by a cited sentence holding it (case, diacritics and
possessive aside, hyphenated names part by part), by another name of the same alias group, or,
for a cite that refers back ("He added that ..."), by the sentence that names whom it means.
"""

from __future__ import annotations

import math
import re
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.english import english_level
from bot.index import alias_groups, build, resolve_cites
from bot.ingest import Document, FaqEntry, SeedError, Seeds, Sentence, read_seeds
from bot.search.analysis import REFERS_BACK
from bot.text import normalise

if TYPE_CHECKING:
    from bot.search import Engine, Settings

ERROR = "error"
WARNING = "warning"

# Kinds of finding, so a test or a summary can count them.
UNSUPPORTED = "unsupported"  # the answer states a number or name that no cited sentence holds
CITE = "cite"  # a cite matching no sentence, several, or the sentence another cite quotes
DUPLICATE = "duplicate-phrasing"  # one phrasing (normalised) in two entries
STEALS = "steals"  # the engine answers an entry's phrasing from another entry
FEW = "few-phrasings"  # fewer than MIN_PHRASINGS ways of asking
BETTER_CITE = "better-cite"  # another sentence supports the answer clearly better than its cites
SKIPPED = "skipped"  # the engine checks could not run (the seeds do not build)

MIN_PHRASINGS = 4
# How much more of the answer's concept weight another sentence must hold than the best cited
# one before it is worth a warning: close calls are the editor's choice, not a mistake.
BETTER_MARGIN = 0.05
STEAL_EXAMPLES = 3
CARRY_BACK = 3  # sentences a "he said" may reach back for the name it stands for


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # ERROR or WARNING
    entry: str  # the FAQ id ("" when about no one entry)
    kind: str
    message: str
    path: str = ""
    line: int = 0
    also: tuple[str, ...] = ()  # the other entries it concerns (a shared phrasing, a steal)

    def concerns(self, ids: set[str]) -> bool:
        return self.entry in ids or not ids.isdisjoint(self.also)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: " if self.path and self.line else ""
        who = f"{self.entry}: " if self.entry else ""
        return f"{where}{self.severity}: {who}{self.message}"


def _finding(
    severity: str, entry: FaqEntry, kind: str, message: str, also: tuple[str, ...] = ()
) -> Finding:
    return Finding(severity, entry.id, kind, message, entry.path, entry.line, also)


# ------------------------------------------------------------------ what an answer states

# A word: letters or digits, with apostrophes inside ("it's", "Assad\u2019s"); a hyphen splits
# words, so "Kurdish-led" and "al-Assad" are checked part by part.
_APOSTROPHES = "'\u2019"
_WORD = re.compile(rf"[^\W_]+(?:[{_APOSTROPHES}][^\W_]+)*")
_POSSESSIVE = re.compile(rf"[{_APOSTROPHES}]s$|(?<=s)[{_APOSTROPHES}]$", re.I)
# A number written in digits: "24", "1,000", "2.5", and ordinals ("3rd"). "3am" holds the number 3.
_DIGITS = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*(?:(st|nd|rd|th)\b)?")
# What can stand before a sentence's first word: white space, quotes, brackets, dashes.
_OPENERS = " \t\n\"'\u201c\u201d\u2018\u2019\u00ab\u00bb([{\u2014\u2013-"
_SENTENCE_END = ".!?:;"

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty "
                                                  "ninety".split())}
_BIG = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split()
    )
}
_CARDINALS = {w: i for i, w in enumerate(_UNITS)} | _TENS | _BIG
# Number words too often not a number in an answer ("one of the groups", "at first", "a
# second statement") to count as a fact of it; a cite that holds them still supports digits.
_NOT_FACTS = frozenset({"one", "first", "second", "zero"})
_SPELLED = re.compile(
    rf"\b(?:({'|'.join(_TENS)})[- ]({'|'.join(_UNITS[1:10])})|"
    rf"({'|'.join([*_CARDINALS, *_ORDINALS])}))\b",
    re.I,
)


def _ordinal(n: int) -> str:
    return f"{n}th"  # one spelling for every ordinal: only equality matters


def _numbers(text: str, facts: bool = False) -> dict[str, str]:
    """The numbers a text states, {canonical value: as written}: digits literally (thousands
    commas aside), spelled ones by their value, so "24" meets "twenty-four" either way round.
    With `facts`, the words that are seldom numbers in prose are left out."""
    out: dict[str, str] = {}
    for m in _DIGITS.finditer(text):
        digits = m.group(0)[: len(m.group(0)) - len(m.group(1) or "")].replace(",", "")
        out.setdefault(_ordinal(int(digits)) if m.group(1) else digits, m.group(0))
    for m in _SPELLED.finditer(text):
        if m.group(1):
            value = str(_TENS[m.group(1).lower()] + _UNITS.index(m.group(2).lower()))
        else:
            word = m.group(3).lower()
            if facts and word in _NOT_FACTS:
                continue
            value = _ordinal(_ORDINALS[word]) if word in _ORDINALS else str(_CARDINALS[word])
        out.setdefault(value, m.group(0))
    return out


def _fold(word: str) -> str:
    """Lower case, no diacritics, no possessive: "Assad\u2019s" and "assad" are one word."""
    word = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", word))
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("\u2019", "'")


def _words(text: str) -> set[str]:
    return {_fold(m.group(0)) for m in _WORD.finditer(text)}


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at `at` opens the text or a sentence of it (after quotes, brackets)."""
    i = at - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def document_names(documents: Iterable[Document]) -> frozenset[str]:
    """Words the documents capitalise inside a sentence: their names, even when English words
    too ("Trump", "Saturday"), so one opening an answer's sentence still counts as a name."""
    out: set[str] = set()
    for d in documents:
        for s in d.sentences:
            for m in _WORD.finditer(s.text):
                w = m.group(0)
                if w[0].isupper() and not w.isupper() and not _starts_sentence(s.text, m.start()):
                    out.add(_fold(w))
    return frozenset(out)


def _ordinary(word: str) -> bool:
    """An ordinary English word (as the dictionary has it, or its plural)."""
    w = _fold(word)
    return english_level(w) == 2 or (w.endswith("s") and english_level(w[:-1]) == 2)


def names(answer: str, known_names: frozenset[str]) -> dict[str, str]:
    """The capitalised names an answer states, {folded: as written}: every capitalised word but
    one opening a sentence that is an ordinary English word and not a name of the documents."""
    out: dict[str, str] = {}
    for m in _WORD.finditer(answer):
        w = m.group(0)
        if len(w) < 2 or not w[0].isupper() or any(ch.isdigit() for ch in w):
            continue
        folded = _fold(w)
        if _starts_sentence(answer, m.start()) and _ordinary(w) and folded not in known_names:
            continue
        out.setdefault(folded, _POSSESSIVE.sub("", w))
    return out


def _phrase_in(term: str, text_norm: str) -> bool:
    """A name (several words maybe) standing as whole words in a normalised text."""
    t = normalise(term)
    # The substring test first: a library has thousands of names, most in neither text, and
    # compiling a pattern for each was most of a lint at 100,000 sentences.
    return bool(t) and t in text_norm and (
        re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text_norm) is not None
    )


def _aliased(answer: str, cited: str, groups: list[tuple[str, ...]]) -> set[str]:
    """Words of the answer's names that the cites state under another name of the same thing
    ("US" for "United States", "HTS" for "Hayat Tahrir al-Sham")."""
    a, c = normalise(answer), normalise(cited)
    out: set[str] = set()
    for terms in groups:
        said = [t for t in terms if _phrase_in(t, a)]
        if said and any(_phrase_in(t, c) for t in terms):
            out |= {w for t in said for w in _words(t)}
    return out


def unsupported(
    answer: str,
    cited: list[str],
    known_names: frozenset[str] = frozenset(),
    groups: list[tuple[str, ...]] | None = None,
    referred: list[str] | None = None,
) -> list[tuple[str, str]]:
    """The numbers and names an answer states that none of the cited sentences holds, as
    (kind, word) in the answer's order: ("number", "24"), ("name", "Erdogan"). `referred` are
    the sentences a cited one refers back to: their names count, their numbers do not."""
    text = " ".join(cited)
    have_numbers = _numbers(text)
    named = " ".join([text, *(referred or [])])
    have_words = _words(named) | _aliased(answer, named, groups or [])
    found: list[tuple[int, str, str]] = []
    for value, written in _numbers(answer, facts=True).items():
        if value not in have_numbers:
            found.append((answer.find(written), "number", written))
    for folded, written in names(answer, known_names).items():
        if folded not in have_words:
            found.append((answer.find(written), "name", written))
    return [(kind, word) for _, kind, word in sorted(found)]


# ------------------------------------------------------------------ the checks


def cited_sentences(seeds: Seeds) -> tuple[dict[str, list[Sentence]], list[Finding]]:
    """Each entry's cited sentences, resolved by the build's own rule (index.resolve_cites);
    an entry whose cites do not resolve is an error, and has none here."""
    by_ref = {(d.id, s.paragraph, s.number): s for d in seeds.documents for s in d.sentences}
    try:
        refs = resolve_cites(seeds)
    except SeedError:
        refs, errors = {}, []
        for entry in seeds.faq:  # find every broken entry, not only the first
            try:
                refs |= resolve_cites(replace(seeds, faq=[entry]))
            except SeedError as exc:
                message = exc.message.removeprefix(f"FAQ entry {entry.id!r}: ")
                errors.append(Finding(ERROR, entry.id, CITE, message, exc.path, exc.line or 0))
    else:
        errors = []
    return {fid: [by_ref[r] for r in rs] for fid, rs in refs.items()}, errors


def referred_names(seeds: Seeds) -> dict[Sentence, str]:
    """For a sentence that speaks of someone named before it ("He added that ...", "This comes
    amid ..."), the sentences back to the one that names them: the engine reads it so
    (analysis.REFERS_BACK), and an answer may name whom "he" is. At most CARRY_BACK sentences,
    within one document."""
    out: dict[Sentence, str] = {}
    for d in seeds.documents:
        for i, s in enumerate(d.sentences):
            back, j = [], i
            while j > 0 and len(back) < CARRY_BACK and REFERS_BACK.search(d.sentences[j].text):
                j -= 1
                back.append(d.sentences[j].text)
            if back:
                out[s] = " ".join(back)
    return out


def check_answers(seeds: Seeds, cited: dict[str, list[Sentence]]) -> list[Finding]:
    """Every number and name of an answer must stand in one of its cited sentences (a name may
    also stand in the sentence a cited "he said" refers back to)."""
    known = document_names(seeds.documents)
    groups = [g.terms for g in alias_groups(seeds) if g.kind == "alias"]
    referred = referred_names(seeds)
    out = []
    for entry in seeds.faq:
        if entry.id not in cited:
            continue  # its cites are broken: reported already
        texts = [s.text for s in cited[entry.id]]
        context = [referred[s] for s in cited[entry.id] if s in referred]
        for kind, word in unsupported(entry.answer, texts, known, groups, context):
            out.append(_finding(
                ERROR, entry, UNSUPPORTED,
                f"the answer states the {kind} {word!r}, which none of its cited sentences does",
            ))
    return out


def check_duplicates(seeds: Seeds) -> list[Finding]:
    """A phrasing (or question) of two entries: whichever the engine picks, the other loses it."""
    owners: dict[str, list[FaqEntry]] = defaultdict(list)
    for entry in seeds.faq:
        for text in {normalise(t) for t in (entry.question, *entry.phrasings)}:
            owners[text].append(entry)
    out = []
    for text, entries in owners.items():
        if len(entries) > 1:
            ids = " and ".join(e.id for e in entries)
            out.append(_finding(
                ERROR, entries[0], DUPLICATE, f"the phrasing {text!r} is in entries {ids}",
                tuple(e.id for e in entries[1:]),
            ))
    return out


def check_few(seeds: Seeds) -> list[Finding]:
    return [
        _finding(
            WARNING, e, FEW,
            f"only {len(e.phrasings)} phrasing(s): fewer than {MIN_PHRASINGS} ways of asking "
            "miss how people ask",
        )
        for e in seeds.faq
        if len(e.phrasings) < MIN_PHRASINGS
    ]


def check_steals(seeds: Seeds, engine: Engine) -> list[Finding]:
    """Ask the engine every phrasing: one answered from another entry is that entry's gain and
    its own's loss. One warning per pair of entries, naming both and a few phrasings."""
    lost: dict[tuple[str, str], list[str]] = defaultdict(list)  # (owner, taker) -> phrasings
    entries = {e.id: e for e in seeds.faq}
    for entry in seeds.faq:
        for text in dict.fromkeys((entry.question, *entry.phrasings)):
            faq = engine.ask(text).faq
            if faq is not None and faq.id != entry.id and faq.id in entries:
                lost[(entry.id, faq.id)].append(text)
    out = []
    for a, b in sorted({tuple(sorted(pair)) for pair in lost}):
        examples = [f"{p!r} ({a}'s) goes to {b}" for p in lost.get((a, b), [])]
        examples += [f"{p!r} ({b}'s) goes to {a}" for p in lost.get((b, a), [])]
        more = len(examples) - STEAL_EXAMPLES
        more_text = f" and {more} more" if more > 0 else ""
        out.append(_finding(
            WARNING, entries[a], STEALS,
            f"entries {a} and {b} steal each other's questions: "
            f"{'; '.join(examples[:STEAL_EXAMPLES])}{more_text}",
            (b,),
        ))
    return out


def check_best_cites(seeds: Seeds, engine: Engine) -> list[Finding]:
    """Which sentence holds most of the answer, by the engine's own analysis (stems, aliases,
    synonyms), each concept weighed by its idf over the documents. When one the entry does not
    cite holds clearly more than its best cite, say which."""
    n = len(engine.sentences)
    out = []
    for entry in seeds.faq:
        faq = engine.faq.get(entry.id)
        concepts = engine.concepts(entry.answer)
        if faq is None or not concepts:
            continue
        weighed = [
            (c.keys, math.log(1 + n / (1 + min((engine.key_df(k) for k in c.keys), default=0))))
            for c in concepts
        ]
        # Only a sentence holding some of the answer can hold more of it than a cite: summed
        # from the postings, the lint costs what the answer's words do, not the library.
        total = sum(w for _, w in weighed)
        held: dict[int, float] = defaultdict(float)
        for keys, w in weighed:
            for sid in engine.sentences_holding(keys):
                held[sid] += w / total if total else 0.0
        best, best_id = max(((share, sid) for sid, share in held.items()), default=(0.0, 0))
        cited = max((_share(weighed, engine.sentences[sid].keys) for sid in faq.cites), default=0.0)
        if best_id not in faq.cites and best - cited >= BETTER_MARGIN:
            s = engine.sentences[best_id]
            out.append(_finding(
                WARNING, entry, BETTER_CITE,
                f"paragraph {s.paragraph}, sentence {s.sentence} ({s.document}) supports the "
                f"answer better ({best:.0%} of it against {cited:.0%} for its best cite): "
                f"{s.text[:90]!r}",
            ))
    return out


def _share(weighed: list[tuple[frozenset[object], float]], keys: frozenset[object]) -> float:
    """The share of the answer's concept weight a sentence's keys hold."""
    total = sum(w for _, w in weighed)
    return sum(w for ks, w in weighed if ks & keys) / total if total else 0.0


def lint_seeds(seeds: Seeds, engine: Engine | None = None) -> list[Finding]:
    """Every check; the engine's (steals, best cites) only when an engine built from these very
    seeds is given. Findings in file order."""
    cited, findings = cited_sentences(seeds)
    findings += check_answers(seeds, cited) + check_duplicates(seeds) + check_few(seeds)
    if engine is not None:
        findings += check_steals(seeds, engine) + check_best_cites(seeds, engine)
    order = {e.id: i for i, e in enumerate(seeds.faq)}
    return sorted(findings, key=lambda f: (order.get(f.entry, len(order)), f.severity != ERROR))


def lint(seeds_dir: Path, settings: Settings | None = None) -> list[Finding]:
    """The lint of a seeds folder, built afresh in a temporary folder for the engine's checks.
    When it does not build, the checks that need no engine still run (and say why it failed)."""
    from bot.search import Engine

    seeds = read_seeds(seeds_dir)
    with tempfile.TemporaryDirectory(prefix="docbot-lint-") as tmp:
        try:
            engine = Engine(build(seeds_dir, Path(tmp) / "index.sqlite3"), settings)
        except SeedError as exc:
            findings = lint_seeds(seeds)
            if not any(f.kind == CITE for f in findings):
                findings.append(Finding(ERROR, "", SKIPPED, f"the seeds do not build: {exc}"))
            skipped = "the engine's checks (steals, better cites) wait until the seeds build"
            return [*findings, Finding(WARNING, "", SKIPPED, skipped)]
        return lint_seeds(seeds, engine)


def summary(findings: list[Finding]) -> str:
    """'2 errors, 5 warnings (3 steals, 2 few-phrasings)'."""
    errors = sum(f.severity == ERROR for f in findings)
    kinds: dict[str, int] = defaultdict(int)
    for f in findings:
        kinds[f.kind] += 1
    detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    return f"{errors} error(s), {len(findings) - errors} warning(s)" + (
        f" ({detail})" if detail else ""
    )
