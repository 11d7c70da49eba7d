"""Question -> ranked, cited Answer.

Every text (question, sentence, FAQ phrasing) becomes a list of *concepts*: an alias or synonym
group from seeds/aliases.toml when its words appear, else one content word by its stem. Two texts
share a concept when their key sets meet. A sentence's score is the share of the question's
concept weight (BM25 idf, unknown words weighing most) that it covers; a FAQ entry's score looks
both ways, question into phrasing and phrasing into question. The confidence that decides
between answering and refusing is the best score less a penalty when the runner-up is close.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlite_utils
from rapidfuzz import fuzz, process

from bot.answer import Answer, Excerpt, FaqHit, Suggestion
from bot.text import STOPWORDS, normalise, stem, stems, tokens

MAX_QUERY_CHARS = 1000  # longer messages are judged on their start; nobody asks in an essay
MAX_EXCERPTS = 5
MAX_MORE = 20


@dataclass(frozen=True, slots=True)
class Settings:
    threshold: float = 0.5  # confidence below this: "not in the document"
    faq_threshold: float = 0.55  # a FAQ entry must score this to lead the answer
    margin: float = 0.12  # a runner-up closer than this lowers the confidence
    candidate_cap: int = 3000  # postings longer than this only confirm, never gather


@dataclass(frozen=True, slots=True)
class Concept:
    keys: frozenset[int]
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
    keys: frozenset[int]


@dataclass(slots=True)
class _Faq:
    id: str
    question: str
    answer: str
    texts: list[list[Concept]]
    cites: list[int]  # sentence ids, best first


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    id: str
    title: str
    publisher: str
    date: str
    paragraphs: int
    sentences: int


# Question-type cues: what kind of words an answer to this question holds.
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|"
    r"thousand|million|dozens?|several|multiple|many"
)
_CUES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (
        re.compile(r"\bhow (many|much)\b|\bnumber of\b|\bhow (long|far|close)\b|\bdistance\b"),
        re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I),
    ),
    (
        re.compile(r"\bwhen\b|\bwhat (time|day|date)\b"),
        re.compile(
            r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|night|morning|"
            r"evening|today|yesterday|recently|hours?|days?|weeks?|years?|\d+ ?(am|pm))\b",
            re.I,
        ),
    ),
    (
        re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (group|person|country|side)\b"),
        re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+"),
    ),
]


class Engine:
    """Loaded once from the index; answers any text without touching the database again."""

    def __init__(self, db_path: Path, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.db_path = db_path
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        try:
            self._load(db)
        finally:
            db.close()

    # ---------------------------------------------------------------- loading
    def _load(self, db: sqlite_utils.Database) -> None:
        self._key_ids: dict[str, int] = {}
        self._phrases: dict[tuple[str, ...], tuple[frozenset[int], bool]] = {}
        self._max_phrase = 1
        groups: dict[int, list[str]] = defaultdict(list)
        kinds: dict[int, str] = {}
        for row in db.query("select grp, kind, term from aliases order by grp, rank"):
            groups[row["grp"]].append(row["term"])
            kinds[row["grp"]] = row["kind"]
        for grp, terms in groups.items():
            key = self._key(f"{kinds[grp]}:{grp}")
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
        for r in db.query("select * from sentences order by id"):
            concepts = self.concepts(r["text"])
            keys = frozenset(k for c in concepts for k in c.keys)
            self.sentences[r["id"]] = _Sentence(
                r["id"], r["document"], r["paragraph"], r["sentence"], r["text"], keys
            )
            for k in keys:
                self._postings[k].append(r["id"])
            for c in concepts:
                for w in c.words:
                    vocab_count[w] += 1
        self._n = max(1, len(self.sentences))
        self._max_idf = math.log(1 + (self._n + 0.5) / 0.5)

        cites: dict[str, list[int]] = defaultdict(list)
        for r in db.query("select faq, sentence_id from faq_cites order by faq, rank"):
            cites[r["faq"]].append(r["sentence_id"])
        texts: dict[str, list[list[Concept]]] = defaultdict(list)
        for r in db.query("select faq, text from faq_phrasings order by rowid"):
            texts[r["faq"]].append(self.concepts(r["text"]))
            for w in r["text"] and self._content_words(r["text"]):
                vocab_count[w] += 1
        self.faq: dict[str, _Faq] = {
            r["id"]: _Faq(r["id"], r["question"], r["answer"], texts[r["id"]], cites[r["id"]])
            for r in db.query("select id, question, answer from faq order by rowid")
        }
        for phrase in self._phrases:
            for w in phrase:
                vocab_count[w] += 1
        self._vocab = [w for w in vocab_count if w not in STOPWORDS and not w.isdigit()]
        self._vocab_set = set(self._vocab)
        self._vocab_count = dict(vocab_count)

    def _key(self, name: str) -> int:
        return self._key_ids.setdefault(name, len(self._key_ids))

    def _add_phrase(self, term: str, key: int) -> None:
        ws = tuple(w for w, *_ in tokens(term))
        if not ws:
            return
        upper = len(ws) == 1 and ws[0] in STOPWORDS  # "US" must not match "us"
        old = self._phrases.get(ws)
        keys = (old[0] if old else frozenset()) | {key}
        self._phrases[ws] = (keys, upper)
        if ws[0] == "the" and len(ws) > 2:  # "the world body" also as "world body"
            self._phrases.setdefault(ws[1:], (keys, False))
        self._max_phrase = max(self._max_phrase, len(ws))

    # ------------------------------------------------------------- analysis
    @staticmethod
    def _content_words(text: str) -> list[str]:
        return [w for w, *_ in tokens(text) if w not in STOPWORDS]

    def concepts(self, text: str, correct: bool = False) -> list[Concept]:
        """The concepts of a text; with correct=True misspelt words are mended first."""
        toks = tokens(text)
        if correct:
            toks = [(self._correct(w), s, e, up) for w, s, e, up in toks]
        out: list[Concept] = []
        i = 0
        while i < len(toks):
            for n in range(min(self._max_phrase, len(toks) - i), 0, -1):
                ws = tuple(t[0] for t in toks[i : i + n])
                hit = self._phrases.get(ws)
                if hit is None:
                    continue
                keys, needs_upper = hit
                if needs_upper and not toks[i][3] and not (i > 0 and toks[i - 1][0] == "the"):
                    continue
                out.append(Concept(keys, toks[i][1], toks[i + n - 1][2], ws))
                i += n
                break
            else:
                w, s, e, _ = toks[i]
                if w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
                    out.append(Concept(frozenset({self._key("w:" + stem(w))}), s, e, (w,)))
                i += 1
        return out

    @lru_cache(maxsize=8192)  # noqa: B019 - the engine lives as long as the process
    def _correct(self, word: str) -> str:
        """Mend a misspelt word against the index vocabulary; real English words stay."""
        if (
            len(word) < 4
            or word in STOPWORDS
            or word in self._vocab_set
            or not word.isalpha()
            or is_english(word)
        ):
            return word
        cutoff = 85 if len(word) == 4 else 80 if len(word) <= 6 else 78
        best = process.extract(word, self._vocab, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5)
        if not best:
            return word
        top = max(best, key=lambda m: (m[1], self._vocab_count.get(m[0], 0)))
        return top[0]

    def _idf(self, concept: Concept) -> float:
        df = self._df(concept.keys)
        if df == 0:
            return self._max_idf
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def _df(self, keys: frozenset[int]) -> int:
        if len(keys) == 1:
            return len(self._postings.get(next(iter(keys)), ()))
        seen: set[int] = set()
        for k in keys:
            seen.update(self._postings.get(k, ()))
        return len(seen)

    # ------------------------------------------------------------- scoring
    def _score_sentences(
        self, query: list[Concept], weights: list[float], cue: re.Pattern[str] | None
    ) -> dict[int, float]:
        total = sum(weights) or 1.0
        acc: dict[int, float] = defaultdict(float)
        common: list[tuple[frozenset[int], float]] = []
        cap = self.settings.candidate_cap
        for c, w in zip(query, weights, strict=True):
            ids: set[int] = set()
            for k in c.keys:
                ids.update(self._postings.get(k, ()))
            if len(ids) > cap:
                common.append((c.keys, w))
                continue
            for sid in ids:
                acc[sid] += w
        if not acc and common:  # only common words: gather from the rarest of them
            keys, w = min(common, key=lambda kw: self._df(kw[0]))
            common.remove((keys, w))
            for k in keys:
                for sid in self._postings.get(k, ())[:cap]:
                    acc[sid] = w
        for keys, w in common:
            for sid in acc:
                if keys & self.sentences[sid].keys:
                    acc[sid] += w
        scores = {}
        for sid, covered in acc.items():
            s = covered / total
            if cue is not None and cue.search(self.sentences[sid].text):
                s += 0.04
            scores[sid] = s
        return scores

    def _score_faq(self, query: list[Concept], weights: list[float]) -> list[tuple[float, str]]:
        total = sum(weights) or 1.0
        qkeys = [c.keys for c in query]
        out = []
        for entry in self.faq.values():
            best = 0.0
            for text in entry.texts:
                if not text:
                    continue
                tkeys = frozenset(k for c in text for k in c.keys)
                q_cov = sum(w for k, w in zip(qkeys, weights, strict=True) if k & tkeys) / total
                if q_cov == 0:
                    continue
                all_q = frozenset(k for ks in qkeys for k in ks)
                tw = [self._idf(c) for c in text]
                t_cov = sum(w for c, w in zip(text, tw, strict=True) if c.keys & all_q) / sum(tw)
                best = max(best, 0.6 * q_cov + 0.4 * t_cov)
            if best > 0:
                out.append((best, entry.id))
        out.sort(reverse=True)
        return out

    # -------------------------------------------------------------- answer
    def ask(self, question: str) -> Answer:
        text = question[:MAX_QUERY_CHARS]
        query = self.concepts(text, correct=True)
        if not query:
            return Answer(query=question, answered=False, confidence=0.0,
                          suggestions=self._suggest([]))
        weights = [self._idf(c) for c in query]
        norm = normalise(text)
        cue = next((ans for q, ans in _CUES if q.search(norm)), None)
        direct = self._score_sentences(query, weights, cue)
        faqs = self._score_faq(query, weights)

        final: dict[int, float] = dict(direct)
        lead: str | None = None
        if faqs:
            for score, fid in faqs[:3]:
                for rank, sid in enumerate(self.faq[fid].cites):
                    derived = score - 0.01 * rank
                    if derived > final.get(sid, 0.0):
                        final[sid] = derived
            top_faq, top_id = faqs[0]
            best_direct = max(direct.values(), default=0.0)
            if top_faq >= self.settings.faq_threshold and top_faq >= best_direct - 0.05:
                lead = top_id
        ranked = sorted(final, key=lambda sid: (-final[sid], sid))
        if lead:
            cites = self.faq[lead].cites
            ranked = cites + [sid for sid in ranked if sid not in cites]
        if not ranked:
            return Answer(query=question, answered=False, confidence=0.0,
                          suggestions=self._suggest(faqs))
        top = final[ranked[0]] if not lead else max(faqs[0][0], final[ranked[0]])
        group = set(self.faq[lead].cites) if lead else {ranked[0]}
        runner = next((final[s] for s in ranked if s not in group), 0.0)
        if lead and len(faqs) > 1:
            runner = max(min(runner, faqs[1][0]), 0.0) if faqs[1][0] < top else faqs[1][0]
        margin = top - runner
        penalty = max(0.0, self.settings.margin - margin) * 0.5
        confidence = max(0.0, min(1.0, top - penalty))
        if confidence < self.settings.threshold:
            return Answer(query=question, answered=False, confidence=confidence,
                          suggestions=self._suggest(faqs))
        keys = frozenset(k for c in query for k in c.keys)
        excerpts = tuple(self._excerpt(sid, final.get(sid, 0.0), keys) for sid in ranked[:25])
        return Answer(
            query=question,
            answered=True,
            confidence=confidence,
            faq=self._faq_hit(lead) if lead else None,
            excerpts=excerpts[:MAX_EXCERPTS],
            suggestions=self._suggest(faqs, exclude=lead),
            more=excerpts[MAX_EXCERPTS:],
        )

    def _excerpt(self, sid: int, score: float, keys: frozenset[int]) -> Excerpt:
        s = self.sentences[sid]
        spans = tuple((c.start, c.end) for c in self.concepts(s.text) if c.keys & keys)
        return Excerpt(s.text, s.document, s.paragraph, s.sentence, min(1.0, score), sid, spans)

    def _faq_hit(self, fid: str) -> FaqHit:
        e = self.faq[fid]
        return FaqHit(e.id, e.question, e.answer)

    def _suggest(
        self, faqs: list[tuple[float, str]], exclude: str | None = None, n: int = 3
    ) -> tuple[Suggestion, ...]:
        ids = [fid for _, fid in faqs if fid != exclude][:n]
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
def _english_stems() -> frozenset[str]:
    from english_words import get_english_words_set

    words = get_english_words_set(["gcide"], lower=True, alpha=True)
    return frozenset(stems(list(words))) | frozenset(words)


def is_english(word: str) -> bool:
    """A dictionary word (in any inflection): a real word we must not 'correct' into another."""
    stems = _english_stems()
    return word in stems or stem(word) in stems


def warm_up() -> None:
    """Load the dictionary now rather than on the first misspelt question."""
    _english_stems()


def iter_questions(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        line = line.rstrip("\n")
        if line.strip():
            yield line
