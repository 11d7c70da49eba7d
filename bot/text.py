"""Text normalisation shared by ingest and search, so both sides agree on what a word is."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_SPACE = re.compile(r"\s+")
# Zero-width and other format characters would split or glue words invisibly.
_FORMAT_CHARS = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
# A word: letters or digits; apostrophes inside a word are dropped ("they're" -> "theyre"),
# a trailing possessive "'s" is dropped ("assad's" -> "assad").
# Combining marks (Latin accents, Hebrew and Arabic vowel signs, Devanagari) stay inside a word.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u0900-\u0903\u093a-\u094f"
)
# Invisible format characters (zero-width space and joiners, soft hyphen, BOM) inside a word
# are dropped from it, never allowed to split it; at its edges they are not part of it.
_INVISIBLE = "\u200b-\u200f\u2060-\u2064\ufeff\u00ad"
_WORD = re.compile(rf"[^\W_](?:[{_INVISIBLE}]*[^\W_]|[{_MARKS}])*(?:'[^\W_]+)*")

_stemmer = Stemmer.Stemmer("english")


def normalise(text: str) -> str:
    """NFKC, case-fold, straight quotes, ASCII hyphens, single spaces: the eval README's rule."""
    # Quotes first as well: NFKC turns a spacing accent used as an apostrophe (U+00B4) into a space
    # and a combining mark, which would split the word that tokens() keeps whole.
    text = unicodedata.normalize("NFKC", text.translate(_QUOTES))
    text = _FORMAT_CHARS.sub("", text).translate(_QUOTES).casefold()
    return _SPACE.sub(" ", text).strip()


def _clean_word(word: str) -> str:
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    return SHORTHAND.get(word, word)


def _fold(text: str) -> str:
    """normalise() and then drop diacritics, so "Türkiye" meets "Turkiye"."""
    decomposed = unicodedata.normalize("NFKD", normalise(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Chat shorthand, mended before anything else looks at a word. General English, not about any
# one document, so it lives here rather than in seeds/.
SHORTHAND: dict[str, str] = {
    "ppl": "people", "ppls": "people", "nite": "night", "tonite": "tonight", "abt": "about",
    "bout": "about", "frm": "from", "wat": "what", "wats": "whats", "wut": "what",
    "wot": "what", "rn": "now", "tmrw": "tomorrow", "tmr": "tomorrow", "2day": "today",
    "govt": "government", "gov": "government", "govts": "governments", "b4": "before",
    "bc": "because", "bcuz": "because", "cuz": "because", "coz": "because", "cos": "because",
    "tho": "though", "thru": "through", "pls": "please", "plz": "please", "u": "you",
    "ur": "your", "r": "are", "y": "why", "wen": "when", "wer": "where", "wher": "where",
    "hw": "how", "hws": "hows", "yr": "year", "yrs": "years",
    "km": "kilometres", "kms": "kilometres", "intl": "international", "info": "information",
    "ex": "former", "dept": "department", "mins": "minutes", "hrs": "hours", "2nd": "second",
    "3rd": "third", "w": "with", "wo": "without", "ya": "you", "dat": "that", "dis": "this",
    "da": "the", "im": "i", "idk": "", "lol": "", "omg": "", "btw": "",
}


def words(text: str) -> list[str]:
    """Normalised words of a text, hyphenated compounds split ("al-Assad" -> "al", "assad")."""
    return [w for w in (_clean_word(m) for m in _WORD.findall(_fold(text))) if w]


def tokens(text: str) -> list[tuple[str, int, int, bool]]:
    """(word, start, end, was_upper) for each word, spans into the original text.

    The span lets search bold the words that matched; the case flag tells "US" from "us".
    """
    out: list[tuple[str, int, int, bool]] = []
    # translate() maps one character to one, so spans found here hold in the original.
    for m in _WORD.finditer(text.translate(_QUOTES)):
        raw = m.group()
        if raw.isascii():  # the common case, without the full normalisation
            w = _clean_word(raw.lower())
            if w:
                out.append((w, m.start(), m.end(), raw.isupper() and len(raw) > 1))
            continue
        folded = "".join(words(raw))  # one word in, one word out: spans stay whole
        if folded:
            out.append((folded, m.start(), m.end(), raw.isupper() and len(raw) > 1))
    return out


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem; numbers and very short words stay as they are."""
    if len(word) <= 3 or word.isdigit():
        return word
    return _stemmer.stemWord(word)


def stems(many: list[str]) -> list[str]:
    """Stem a whole word list in one call to the C stemmer (for dictionaries)."""
    return _stemmer.stemWords(many)


STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any anybody anyone anything are aren
    arent as at be because been before being below between both but by can cant could couldnt
    did didnt do does doesnt doing dont down during each else ever every few for from further
    get gets getting got had hadnt has hasnt have havent having he hed hes her here heres hers
    herself him himself his how hows i id if im in into is isnt it its itself ive just know let
    lets me more most much must mustnt my myself no nor not now of off on once only or other
    ought our ours ourselves out over own please pls plz really right same say says shall shant
    she shed shes should shouldnt so some something such tell than that thats the their theirs
    them themselves then there theres these they theyd theyll theyre theyve thing things this
    those through to too u ur r under until up upon us very was wasnt way we wed well were
    werent weve what whats when whens where wheres which while who whom whos why whys will with
    wont would wouldnt yall yeah yes you youd youll youre yours yourself yourselves wat wut
    hey hi hello ok okay sorry dumb question anyone someone somebody guys lol like want wanna
    gonna gotta kinda sorta actually exactly even still yet already happen happened happening
    going goes go went thanks thank the al el
    need needs needed wondering wonder wondered idea exactly whatever anyway anyways basically
    literally honestly seriously homework assignment essay curious kindly dear sir madam
    guess maybe perhaps stuff lot lots bit kinda alright hmm um uh cheers folks mate bro
    explain clarify know knows knew
    """.split()
)
# "us" is a stopword only when it is not the country: aliases decide that before stopwords apply.

QUESTION_WORDS: frozenset[str] = frozenset(
    "who whom whose what which when where why how whos whats wheres hows whens".split()
)


def content_words(text: str) -> list[str]:
    """Words that carry meaning: not stopwords, not lone letters."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
