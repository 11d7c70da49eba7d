"""Question -> ranked, cited Answer.

Every text (question, sentence, FAQ phrasing) becomes a list of *concepts*: an alias or synonym
group from seeds/aliases.toml when its words appear, else one content word by its stem. Two texts
share a concept when their key sets meet. A sentence's score is the share of the question's
concept weight (BM25 idf, unknown words weighing most) that it covers; a FAQ entry's score looks
both ways, question into phrasing and phrasing into question. The confidence that decides
between answering and refusing is the best score less a penalty when the runner-up is close.
"""

from __future__ import annotations

import bisect
import heapq
import html
import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import sqlite_utils
from rapidfuzz import fuzz, process

from bot.answer import Answer, DocumentInfo, Excerpt, FaqHit, Suggestion
from bot.calibrate import sigmoid
from bot.text import STOPWORDS, normalise, stem, stems, tokens

MAX_QUERY_CHARS = 1000  # longer messages are judged on their start; nobody asks in an essay
MAX_EXCERPTS = 5
MAX_MORE = 20
RELATIVE_FLOOR = 0.6  # excerpts scoring below this share of the best are dropped
SHORTLIST = 300  # candidates kept for the finer scoring
SUGGESTIONS = 3  # closest FAQ questions offered
SCORED_AT_LEAST = SUGGESTIONS + 1  # FAQ entries always scored exactly: the suggestions + a lead


Key = int | str  # int: known to the index; str: a word only the question has

SYNONYM_MATCH = 0.85  # share of a concept's weight earned through a synonym, not its own words


@dataclass(frozen=True, slots=True)
class Settings:
    threshold: float = 0.4  # confidence below this: "not in the document" (raw score 0.46)
    faq_threshold: float = 0.55  # a FAQ entry must score this to lead the answer
    margin: float = 0.12  # a runner-up closer than this lowers the confidence
    candidate_cap: int = 2000  # postings longer than this only confirm, never gather
    direct_weight: float = 0.8  # a sentence matched only by shared words scores this share
    # Platt scaling of the raw score into the probability of a right answer (bot/calibrate.py),
    # fitted with `python -m bot eval tests/data/questions.jsonl --fit`.
    calibration: tuple[float, float] | None = (9.822, -4.957)


@dataclass(frozen=True, slots=True)
class Concept:
    keys: frozenset[Key]  # the concept matches any text holding one of these
    exact: Key  # the words as written: a match on it beats a match through a synonym
    start: int  # span in the text it came from
    end: int
    words: tuple[str, ...]


@dataclass(slots=True)
class _Sentence:
    id: int
    document: str
    paragraph: int
    sentence: int
    text: str
    keys: frozenset[Key]
    weight: float = 0.0  # idf mass of all its concepts


@dataclass(frozen=True, slots=True)
class _Phrasing:
    """A FAQ question or phrasing, analysed once at load."""

    faq: str
    concepts: list[Concept]
    keys: frozenset[Key]
    weights: list[float]
    weight: float
    qtypes: frozenset[str]
    norm: str


@dataclass(slots=True)
class _Faq:
    id: str
    question: str
    answer: str
    cites: list[int]  # sentence ids, best first


# Question types, and what an answer to each must hold. A "how many" question answered by a
# sentence without a number is most likely a question the document does not answer.
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|dozens?|several|multiple"
)
_TIME_WORDS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|night|morning|evening|"
    r"afternoon|today|yesterday|tomorrow|recently|hours?|days?|weeks?|months?|years?|"
    r"january|february|march|april|may|june|july|august|september|october|november|december"
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
_ANSWER_HOLDS: dict[str, re.Pattern[str]] = {
    "quantity": re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I),
    "duration": re.compile(rf"\b({_NUMBER_WORDS}|\d+) ({_TIME_WORDS})\b|\bsince\b", re.I),
    "distance": re.compile(r"\d+ ?(km|kilomet\w+|miles?|metres?|meters?)\b", re.I),
    "time": re.compile(rf"\b({_TIME_WORDS})\b|\b\d+ ?(am|pm)\b|\b(1[89]|20)\d\d\b", re.I),
}
# A sentence that opens with a pronoun, or quotes "he said", is about whom the last one named.
_REFERS_BACK = re.compile(
    r"^\W*(\w+\W+)?(he|she|his|her|him|they|their|them|this|these|it)\b"
    r"|\b(he|she|they) (said|added|told|explained)\b",
    re.I,
)
_HOW_WORDS = frozenset(["many", "much", "far", "long", "close", "near", "often", "soon"])
CUE_MISS = 0.4  # a sentence lacking what the question type needs keeps this share of its score


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


_T = TypeVar("_T")


def _coverage(
    query: list[Concept], weights: list[float], postings: Mapping[Key, Iterable[_T]]
) -> dict[_T, float]:
    """Per item of the postings: the question's weight it holds, a concept counting whole
    where the item has its own word and SYNONYM_MATCH of it where only a synonym."""
    acc: dict[_T, float] = defaultdict(float)
    for c, w in zip(query, weights, strict=True):
        whole, part = _holders(c, postings)
        for item in whole:
            acc[item] += w
        for item in part:
            acc[item] += w * SYNONYM_MATCH
    return acc


def _holders(c: Concept, postings: Mapping[Key, Iterable[_T]]) -> tuple[set[_T], set[_T]]:
    """The items holding the concept's own word, and those holding only a synonym of it."""
    whole = set(postings.get(c.exact, ()))
    part: set[_T] = set()
    for k in c.keys:
        if k != c.exact:
            part.update(postings.get(k, ()))
    return whole, part - whole


class Engine:
    """Loaded once from the index; answers any text without touching the database again."""

    def __init__(self, db_path: Path, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.db_path = db_path
        # Caches per engine: a reload's new engine starts afresh and the old one can be freed
        # (a cache on the class would keep every engine it has seen alive).
        self._correct = lru_cache(maxsize=8192)(self._correct)
        self._df = lru_cache(maxsize=65536)(self._df)
        self._lacks_cue = lru_cache(maxsize=65536)(self._lacks_cue)
        self._sentence_concepts = lru_cache(maxsize=4096)(self._sentence_concepts)
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        try:
            self._load(db)
        finally:
            db.close()

    # ---------------------------------------------------------------- loading
    def _load(self, db: sqlite_utils.Database) -> None:
        self._key_ids: dict[str, int] = {}
        self._phrases: dict[tuple[str, ...], tuple[frozenset[Key], bool]] = {}
        # Longest term starting with each stem: most words start none, so most positions need
        # one lookup instead of one per possible length.
        self._longest_from: dict[str, int] = {}
        self._term_words: set[str] = set()  # words of alias and synonym terms, for typo mending
        groups: dict[int, list[str]] = defaultdict(list)
        kinds: dict[int, str] = {}
        for row in db.query("select grp, kind, term from aliases order by grp, rank"):
            groups[row["grp"]].append(row["term"])
            kinds[row["grp"]] = row["kind"]
        self._alias_keys: set[Key] = set()
        for grp, terms in groups.items():
            key = self._key(f"{kinds[grp]}:{grp}")
            if kinds[grp] == "alias":
                self._alias_keys.add(key)
            for term in terms:
                self._add_phrase(term, key)

        self.documents: dict[str, DocumentInfo] = {}
        counts = {
            r["document"]: (r["p"], r["s"])
            for r in db.query(
                "select document, count(distinct paragraph) p, count(*) s "
                "from sentences group by document"
            )
        }
        for r in db.query("select * from documents order by id"):
            p, s = counts.get(r["id"], (0, 0))
            self.documents[r["id"]] = DocumentInfo(
                r["id"], r["title"], r["publisher"], r["date"], p, s
            )
        self.paragraphs: dict[tuple[str, int], str] = {
            (r["document"], r["paragraph"]): r["text"]
            for r in db.query("select document, paragraph, text from paragraphs")
        }

        self.sentences: dict[int, _Sentence] = {}
        self._postings: dict[int, list[int]] = defaultdict(list)
        vocab_count: dict[str, int] = defaultdict(int)
        names: frozenset[Key] = frozenset()  # who the previous sentence was about
        prev_doc = None
        for r in db.query("select * from sentences order by id"):
            concepts = self.concepts(r["text"], grow=True)
            keys = frozenset(k for c in concepts for k in c.keys)
            if r["document"] != prev_doc:
                names, prev_doc = frozenset(), r["document"]
            if _REFERS_BACK.search(r["text"]):  # "He added that ...": the names carry over
                keys |= names
            names = (keys & self._alias_keys) or names
            self.sentences[r["id"]] = _Sentence(
                r["id"], r["document"], r["paragraph"], r["sentence"], r["text"], keys
            )
            for k in keys:
                self._postings[k].append(r["id"])
            for c in concepts:
                for w in c.words:
                    vocab_count[w] += 1
        self._n = max(1, len(self.sentences))
        for sent in self.sentences.values():
            sent.weight = sum(self._idf_df(len(self._postings[k])) for k in sent.keys)

        cites: dict[str, list[int]] = defaultdict(list)
        for r in db.query("select faq, sentence_id from faq_cites order by faq, rank"):
            cites[r["faq"]].append(r["sentence_id"])
        self._phrasings: list[_Phrasing] = []
        self._phrasing_postings: dict[Key, list[int]] = defaultdict(list)
        for r in db.query("select faq, text from faq_phrasings order by rowid"):
            cs = self.concepts(r["text"], grow=True)
            if not cs:
                continue
            keys = frozenset(k for c in cs for k in c.keys)
            ws = [self._idf(c) for c in cs]
            norm = normalise(r["text"])
            for k in keys:
                self._phrasing_postings[k].append(len(self._phrasings))
            self._phrasings.append(
                _Phrasing(r["faq"], cs, keys, ws, sum(ws), question_types(norm), norm)
            )
            for w in self._content_words(r["text"]):
                vocab_count[w] += 1
        self.faq: dict[str, _Faq] = {
            r["id"]: _Faq(r["id"], r["question"], r["answer"], cites[r["id"]])
            for r in db.query("select id, question, answer from faq order by rowid")
        }
        entry_keys: dict[str, set[Key]] = defaultdict(set)
        for ph in self._phrasings:
            entry_keys[ph.faq] |= ph.keys
        self._phrasing_faq = [ph.faq for ph in self._phrasings]
        self._entry_postings: dict[Key, list[str]] = defaultdict(list)
        for fid, keys in entry_keys.items():
            for k in keys:
                self._entry_postings[k].append(fid)
        # Every concept of every phrasing, numbered, and the keys that hold it whole or in part:
        # how much of a phrasing a question covers is then summed from these postings.
        self._part_owner: list[int] = []
        self._part_weight: list[float] = []
        self._part_whole: dict[Key, list[int]] = defaultdict(list)
        self._part_synonym: dict[Key, list[int]] = defaultdict(list)
        for i, ph in enumerate(self._phrasings):
            for c, w in zip(ph.concepts, ph.weights, strict=True):
                g = len(self._part_owner)
                self._part_owner.append(i)
                self._part_weight.append(w)
                self._part_whole[c.exact].append(g)
                for k in c.keys - {c.exact}:
                    self._part_synonym[k].append(g)
        self._faq_ids = list(self.faq)
        self._faq_norms = [normalise(self.faq[f].question) for f in self._faq_ids]
        for w in self._term_words:
            vocab_count[w] += 1
        self._vocab = [w for w in vocab_count if w not in STOPWORDS and not w.isdigit()]
        self._vocab_set = set(self._vocab)
        self._sorted_vocab = sorted(self._vocab)
        # Misspelt question words ("wher", "whta") mend to stopwords and then drop out.
        self._targets = self._vocab + sorted(w for w in STOPWORDS if len(w) >= 3)
        self._vocab_count = dict(vocab_count)

    def _key(self, name: str) -> int:
        return self._key_ids.setdefault(name, len(self._key_ids))

    def _lookup(self, name: str, grow: bool) -> Key:
        """Key of a name; a question's unknown word stays a string so the table never grows."""
        return self._key(name) if grow else self._key_ids.get(name, name)

    def _add_phrase(self, term: str, key: int) -> None:
        ws = tuple(w for w, *_ in tokens(term))
        if not ws:
            return
        self._term_words.update(ws)
        st = tuple(stem(w) for w in ws)
        upper = len(ws) == 1 and ws[0] in STOPWORDS  # "US" must not match "us"
        old = self._phrases.get(st)
        keys = (old[0] if old else frozenset()) | {key}
        self._phrases[st] = (keys, upper)
        self._longest_from[st[0]] = max(self._longest_from.get(st[0], 1), len(st))
        if ws[0] == "the" and len(ws) > 2:  # "the world body" also as "world body"
            self._phrases.setdefault(st[1:], (keys, False))
            self._longest_from[st[1]] = max(self._longest_from.get(st[1], 1), len(st) - 1)

    # ------------------------------------------------------------- analysis
    @staticmethod
    def _content_words(text: str) -> list[str]:
        return [w for w, *_ in tokens(text) if w not in STOPWORDS]

    def concepts(self, text: str, query: bool = False, grow: bool = False) -> list[Concept]:
        """The concepts of a text. A query has its misspelt words mended first.

        Only loading grows the key table (grow=True); afterwards a word the index has never
        seen stays a string key, so answering never writes to shared state.
        """
        toks = tokens(text)
        if len(toks) > 2 and all(t[3] for t in toks if len(t[0]) > 1):  # SHOUTED: case says nothing
            toks = [(w, s, e, False) for w, s, e, _ in toks]
        # "how many", "how far": the second word belongs to the question type, not the topic.
        toks = [t for i, t in enumerate(toks) if not (i and toks[i - 1][0] == "how"
                                                      and t[0] in _HOW_WORDS)]
        if query:
            toks = [(self._correct(w), s, e, up) for w, s, e, up in toks]
            if toks and toks[-1][2] == len(text.rstrip()) and not text[-1:].isspace():
                # The last word may be half typed (inline search as you type): "hezbo" -> ...
                w, s, e, up = toks[-1]
                toks[-1] = (self._complete(w), s, e, up)
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
                names = keys & self._alias_keys
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
                if w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
                    k = self._lookup("p:" + st[i], grow)
                    out.append(Concept(frozenset({k}), k, s, e, (w,)))
                i += 1
        return out

    def _complete(self, prefix: str) -> str:
        """The most frequent index word that starts with an unfinished last word."""
        if len(prefix) < 3 or prefix in self._vocab_set or prefix in STOPWORDS:
            return prefix
        lo = bisect.bisect_left(self._sorted_vocab, prefix)
        hi = bisect.bisect_left(self._sorted_vocab, prefix + "\U0010ffff")
        if lo == hi:
            return prefix
        return max(self._sorted_vocab[lo:hi], key=lambda w: (self._vocab_count.get(w, 0), w))

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

    def _correct(self, word: str) -> str:
        """Mend a misspelt word against the index vocabulary; real English words stay."""
        if len(word) < 4 or word in self._vocab_set or word in STOPWORDS or not word.isalpha():
            return word
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

    def _idf(self, concept: Concept) -> float:
        return self._idf_df(self._df(concept.keys))

    def _idf_df(self, df: int) -> float:
        if df == 0:  # unknown to the documents: as telling as the rarest word they have
            df = 1
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def _df(self, keys: frozenset[Key]) -> int:
        """Sentences holding any of the keys; cached, a union is costly for common ones."""
        if len(keys) == 1:
            return len(self._postings.get(next(iter(keys)), ()))
        seen: set[int] = set()
        for k in keys:
            seen.update(self._postings.get(k, ()))
        return len(seen)

    # ------------------------------------------------------------- scoring
    def _match(self, c: Concept, keys: frozenset[Key]) -> float:
        if c.exact in keys:
            return 1.0
        return SYNONYM_MATCH if c.keys & keys else 0.0

    def _score_sentences(
        self, query: list[Concept], weights: list[float], qtypes: frozenset[str]
    ) -> dict[int, float]:
        """Weighted coverage of the question by each candidate sentence."""
        total = sum(weights) or 1.0
        acc: dict[int, float] = defaultdict(float)
        common: list[tuple[Concept, float]] = []
        cap = self.settings.candidate_cap
        for c, w in zip(query, weights, strict=True):
            exact, other = _holders(c, self._postings)
            if len(exact) + len(other) > cap:
                common.append((c, w))
                continue
            for sid in exact:
                acc[sid] += w
            for sid in other:
                acc[sid] += w * SYNONYM_MATCH
        if not acc and common:  # only common words: gather from the rarest of them
            c, w = min(common, key=lambda cw: self._df(cw[0].keys))
            common.remove((c, w))
            for k in c.keys:
                for sid in self._postings.get(k, ())[:cap]:
                    acc[sid] = max(acc.get(sid, 0.0), w * self._match(c, self.sentences[sid].keys))
        if len(acc) > SHORTLIST:  # common words and cues only reorder the best partial matches
            acc = dict(heapq.nlargest(SHORTLIST, acc.items(), key=lambda kv: kv[1]))
        for c, w in common:
            for sid in acc:
                acc[sid] += w * self._match(c, self.sentences[sid].keys)
        # A sentence that says little besides what was asked is the sharper answer.
        return {
            sid: self._cue(covered / total, sid, qtypes)
            + 0.02 * covered / (covered + self.sentences[sid].weight)
            for sid, covered in acc.items()
        }

    def _cue(self, score: float, sid: int, qtypes: frozenset[str]) -> float:
        return score * CUE_MISS if self._lacks_cue(sid, qtypes) else score

    def _lacks_cue(self, sid: int, qtypes: frozenset[str]) -> bool:
        """Whether the sentence lacks what answers one of the question types (cached: the same
        few sentences are tried against every question)."""
        text = self.sentences[sid].text
        return any(
            (holds := _ANSWER_HOLDS.get(t)) is not None and not holds.search(text) for t in qtypes
        )

    def _score_faq(
        self,
        query: list[Concept],
        weights: list[float],
        qtypes: frozenset[str],
        norm: str,
        floor: float = 0.0,
    ) -> list[tuple[float, str]]:
        """Best phrasing per entry: how much of the question it covers, and of it the question.

        The whole-string rapidfuzz ratio only breaks near-ties between entries. Coverage both
        ways is summed from postings, so the cost follows the question's words, not the
        number of phrasings (thousands, most sharing a word or two with any question).

        Entries whose ceiling is below `floor` are left out once SCORED_AT_LEAST entries beat
        that ceiling: `ask` passes the score under which an entry can change nothing.
        """
        total = sum(weights) or 1.0
        all_q = frozenset(k for c in query for k in c.keys)
        q_cov = _coverage(query, weights, self._phrasing_postings)
        # Half the credit comes from the entry as a whole (all its phrasings): people's
        # extra words are often in a sibling phrasing.
        e_cov = _coverage(query, weights, self._entry_postings)
        whole: set[int] = set()
        part: set[int] = set()
        for k in all_q:
            whole.update(self._part_whole.get(k, ()))
            part.update(self._part_synonym.get(k, ()))
        part -= whole
        t_cov: dict[int, float] = defaultdict(float)
        for g in whole:
            t_cov[self._part_owner[g]] += self._part_weight[g]
        for g in part:
            t_cov[self._part_owner[g]] += SYNONYM_MATCH * self._part_weight[g]
        groups: dict[str, list[int]] = defaultdict(list)
        for i in q_cov:
            groups[self._phrasing_faq[i]].append(i)
        qs = qtypes & SPECIFIC
        most_added = (0.04 if qs else 0.0) + 0.04  # by the question type, by the ratio
        ceilings = sorted(
            (
                ((0.5 * max(q_cov[i] for i in members) + 0.5 * e_cov[fid]) / total + most_added,
                 fid)
                for fid, members in groups.items()
            ),
            reverse=True,
        )
        best: dict[str, float] = {}
        leaders: list[float] = []  # the best SCORED_AT_LEAST scores so far, a min-heap
        for ceiling, fid in ceilings:
            if ceiling < floor and len(leaders) == SCORED_AT_LEAST and leaders[0] > ceiling:
                break  # neither this entry nor any after it can matter
            score = self._entry_score(groups[fid], q_cov, e_cov[fid], t_cov, total, qs, norm)
            if score > 0.0:
                best[fid] = score
                if len(leaders) < SCORED_AT_LEAST:
                    heapq.heappush(leaders, score)
                else:
                    heapq.heappushpop(leaders, score)
        return sorted(((v, k) for k, v in best.items()), reverse=True)

    def _entry_score(
        self,
        members: list[int],
        q_cov: dict[int, float],
        e_cov: float,
        t_cov: dict[int, float],
        total: float,
        qs: frozenset[str],
        norm: str,
    ) -> float:
        """An entry's score: its best phrasing's."""
        phrasings = self._phrasings
        scored: list[tuple[float, int]] = []
        for i in members:
            p = phrasings[i]
            # What the question asks must be covered; a phrasing about more than was asked
            # counts somewhat less, so "who is X" does not answer "what nationality is X".
            score = (0.5 * q_cov[i] + 0.5 * e_cov) / total * (0.6 + 0.4 * t_cov[i] / p.weight)
            if qs:
                ts = p.qtypes & SPECIFIC
                if ts:
                    score += 0.04 if qs & ts else -0.1
                elif qs & {"quantity", "duration", "distance", "time"}:
                    score -= 0.05
            scored.append((score, i))
        scored.sort(reverse=True)
        best = 0.0
        for score, i in scored:
            if score + 0.04 <= best:
                break  # the ratio adds at most 0.04: no phrasing from here on can win
            ratio = fuzz.token_sort_ratio(norm, phrasings[i].norm) / 100
            best = max(best, score + 0.04 * ratio)
        return best

    # -------------------------------------------------------------- answer
    def ask(self, question: str) -> Answer:
        # Text pasted from the web may carry entities ("&amp;", "&#39;"): read them as characters.
        text = html.unescape(question[:MAX_QUERY_CHARS])
        query = self.concepts(text, query=True)
        if not query:
            return Answer(query=question, answered=False, confidence=0.0,
                          suggestions=self._suggest([], normalise(text)))
        weights = [self._idf(c) for c in query]
        norm = normalise(text)
        qtypes = question_types(norm)
        direct = self._score_sentences(query, weights, qtypes)
        # The best sentence scores at least gamma times its direct score: FAQ entries that
        # cannot reach the relevance floor of that are not worth scoring.
        floor = self._relevance_floor(self.settings.direct_weight * max(direct.values(), default=0))
        faqs = self._score_faq(query, weights, qtypes, norm, floor)
        final, ranked, lead = self._rank(direct, faqs, qtypes)
        if ranked and floor > self._relevance_floor(final[ranked[0]]):
            # The answer's first sentence came out weaker than that (a lead whose first cite
            # lacks the answer cue): score every entry after all.
            faqs = self._score_faq(query, weights, qtypes, norm)
            final, ranked, lead = self._rank(direct, faqs, qtypes)
        if not ranked:
            return Answer(query=question, answered=False, confidence=0.0,
                          suggestions=self._suggest(faqs, norm))
        top = final[ranked[0]]
        group = set(self.faq[lead].cites) if lead else {ranked[0]}
        runner = next((final[s] for s in ranked if s not in group), 0.0)
        penalty = max(0.0, self.settings.margin - (top - runner)) * 0.5
        raw = max(0.0, min(1.0, top - penalty))
        confidence = self.calibrated(raw)
        if confidence < self.settings.threshold:
            return Answer(query=question, answered=False, confidence=confidence,
                          suggestions=self._suggest(faqs, norm), raw=raw)
        keys = frozenset(k for c in query for k in c.keys)
        # Sentences far weaker than the best are noise next to it, not further answers.
        floor = RELATIVE_FLOOR * final[ranked[0]]
        kept = [sid for sid in ranked[: MAX_EXCERPTS + MAX_MORE] if final.get(sid, 0.0) >= floor]
        excerpts = tuple(self._excerpt(sid, final.get(sid, 0.0), keys) for sid in kept)
        return Answer(
            query=question,
            answered=True,
            confidence=confidence,
            faq=self._faq_hit(lead) if lead else None,
            excerpts=excerpts[:MAX_EXCERPTS],
            suggestions=self._suggest(faqs, norm, exclude=lead),
            more=excerpts[MAX_EXCERPTS:],
            raw=raw,
        )

    def _relevance_floor(self, top: float) -> float:
        """Below this, a sentence next to a best one scoring `top` is neither quoted
        (RELATIVE_FLOOR) nor a close runner-up (margin)."""
        return min(RELATIVE_FLOOR * top, top - self.settings.margin)

    def _rank(
        self, direct: dict[int, float], faqs: list[tuple[float, str]], qtypes: frozenset[str]
    ) -> tuple[dict[int, float], list[int], str | None]:
        """Every candidate sentence's final score, the sentences in answer order, the lead FAQ."""
        # Each sentence's FAQ support: the best entry citing it (first cite a shade ahead).
        support: dict[int, tuple[float, str]] = {}
        for score, fid in faqs:
            for rank, sid in enumerate(self.faq[fid].cites):
                derived = self._cue(score - 0.01 * rank, sid, qtypes)
                if derived > support.get(sid, (0.0, ""))[0]:
                    support[sid] = (derived, fid)
        # A curated phrasing that matches is stronger evidence than shared words in a sentence.
        gamma = self.settings.direct_weight
        final = {
            sid: max(gamma * direct.get(sid, 0.0), support.get(sid, (0.0, ""))[0])
            for sid in direct.keys() | support.keys()
        }
        ranked = sorted(final, key=lambda sid: (-final[sid], sid))
        lead: str | None = None
        if ranked and ranked[0] in support:
            score, fid = support[ranked[0]]
            if score >= self.settings.faq_threshold:
                lead = fid
                cites = self.faq[lead].cites
                ranked = cites + [sid for sid in ranked if sid not in cites]
        return final, ranked, lead

    def _sentence_concepts(self, sid: int) -> list[Concept]:
        return self.concepts(self.sentences[sid].text)

    def calibrated(self, raw: float) -> float:
        """The probability of a right answer for a raw score (the raw score when uncalibrated)."""
        if self.settings.calibration is None:
            return raw
        a, b = self.settings.calibration
        return sigmoid(a * raw + b)

    def _excerpt(self, sid: int, score: float, keys: frozenset[Key]) -> Excerpt:
        s = self.sentences[sid]
        spans = tuple((c.start, c.end) for c in self._sentence_concepts(sid) if c.keys & keys)
        return Excerpt(s.text, s.document, s.paragraph, s.sentence, min(1.0, score), sid, spans)

    def _faq_hit(self, fid: str) -> FaqHit:
        e = self.faq[fid]
        return FaqHit(e.id, e.question, e.answer)

    def _suggest(
        self,
        faqs: list[tuple[float, str]],
        norm: str = "",
        exclude: str | None = None,
        n: int = SUGGESTIONS,
    ) -> tuple[Suggestion, ...]:
        """The closest FAQ questions; when too few share a word, the nearest by spelling."""
        ids = [fid for _, fid in faqs if fid != exclude][:n]
        if len(ids) < n and self._faq_norms:
            for _, _, i in process.extract(
                norm, self._faq_norms, scorer=fuzz.WRatio, limit=len(self._faq_norms)
            ):
                fid = self._faq_ids[i]
                if len(ids) >= n:
                    break
                if fid not in ids and fid != exclude:
                    ids.append(fid)
        return tuple(Suggestion(fid, self.faq[fid].question) for fid in ids)

    # --------------------------------------------------------------- lookups
    def answer_faq(self, fid: str) -> Answer | None:
        """The answer a FAQ entry gives, as if its question had been asked and matched."""
        e = self.faq.get(fid)
        if e is None:
            return None
        keys = frozenset(k for c in self.concepts(e.question) for k in c.keys)
        excerpts = tuple(self._excerpt(sid, 1.0, keys) for sid in e.cites)
        return Answer(e.question, True, 1.0, self._faq_hit(fid), excerpts[:MAX_EXCERPTS])

    def faq_list(self) -> list[Suggestion]:
        return [Suggestion(e.id, e.question) for e in self.faq.values()]

    def paragraph(self, document: str, paragraph: int) -> str | None:
        return self.paragraphs.get((document, paragraph))


@lru_cache(maxsize=1)
def _english_words() -> tuple[frozenset[str], frozenset[str]]:
    from english_words import get_english_words_set

    words = get_english_words_set(["gcide"], lower=True, alpha=True)
    return frozenset(words), frozenset(stems(list(words)))


def english_level(word: str) -> int:
    """2: a dictionary word; 1: its stem is one (maybe an inflection, maybe a typo); 0: neither."""
    words, stem_set = _english_words()
    if word in words:
        return 2
    return 1 if stem(word) in stem_set else 0


def warm_up() -> None:
    """Load the dictionary now rather than on the first misspelt question."""
    _english_words()


def iter_questions(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        line = line.rstrip("\n")
        if line.strip():
            yield line
