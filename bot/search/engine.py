"""Question -> ranked, cited Answer: the Engine, loaded once from the index.

It only ties the steps together, each a module of this package: analysis (text -> concepts),
candidates (postings and the shortlist), scoring (sentence and FAQ scores, one order), and
confidence (answer or refuse). What comes back is bot/answer.py's Answer, the same for the CLI,
the eval and the Telegram layer.
"""

from __future__ import annotations

import html
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlite_utils
from rapidfuzz import fuzz, process

from bot.answer import Answer, DocumentInfo, Excerpt, FaqHit, Suggestion
from bot.message import read_message
from bot.search import store
from bot.search.analysis import Concept, Key, question_types, spelling_words
from bot.search.candidates import holders_of
from bot.search.confidence import probability, refuses
from bot.search.gauge import Gauge
from bot.search.phrasings import Phrasing, PhrasingPostings
from bot.search.rerank import Library, phrase_bonus
from bot.search.scoring import SUGGESTIONS, Scorer
from bot.search.sentences import IndexedSentence
from bot.search.settings import Settings
from bot.search.spelling import Speller
from bot.text import normalise

MAX_QUERY_CHARS = 1000  # longer messages are judged on their start; nobody asks in an essay
MAX_EXCERPTS = 5
MAX_MORE = 20
RELATIVE_FLOOR = 0.6  # excerpts scoring below this share of the best are dropped


@dataclass(slots=True)
class _Faq:
    id: str
    question: str
    answer: str
    cites: list[int]  # sentence ids, best first


class Engine:
    """Loaded once from the index; answers any text without touching the database again."""

    def __init__(self, db_path: Path, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.db_path = db_path
        # Caches per engine: a reload's new engine starts afresh and the old one can be freed
        # (a cache on the class would keep every engine it has seen alive).
        self._sentence_concepts = lru_cache(maxsize=4096)(self._sentence_concepts)
        self._text = lru_cache(maxsize=8192)(self._text)
        # Texts stay in the index until an answer quotes them: the connection stays open, read
        # only, for them (a rebuild replaces the file; this one keeps reading the old one).
        self._conn = sqlite3.connect(
            f"file:{db_path}?mode=ro", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        try:
            self._load(sqlite_utils.Database(self._conn))
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        """Release the index file (an engine replaced by a reload is also closed when freed)."""
        self._conn.close()

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        with self._lock:  # one connection, used from the bot's threads as well
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _text(self, sid: int) -> str:
        rows = self._query("select text from sentences where id = ?", [sid])
        if not rows:
            raise KeyError(sid)
        return rows[0][0]

    # ---------------------------------------------------------------- loading
    def _load(self, db: sqlite_utils.Database) -> None:
        # The analysis the build stored (bot/search/store.py): keys, postings, vocabulary.
        stored = store.load(db.conn, self._text)
        self._analyzer = analyzer = store.reader(store.read_groups(db.conn), stored.key_ids)
        self.documents: dict[str, DocumentInfo] = {
            r["id"]: DocumentInfo(
                r["id"], r["title"], r["publisher"], r["date"], r["paragraphs"], r["sentences"]
            )
            for r in db.query("select * from documents order by id")
        }
        self._postings = stored.postings
        self.sentences: Mapping[int, IndexedSentence] = self._postings.sentences
        vocab_count: dict[str, int] = defaultdict(int, stored.vocabulary)

        cites: dict[str, list[int]] = defaultdict(list)
        for r in db.query("select faq, sentence_id from faq_cites order by faq, rank"):
            cites[r["faq"]].append(r["sentence_id"])
        phrasings = PhrasingPostings()
        for r in db.query("select faq, text from faq_phrasings order by rowid"):
            cs = analyzer.concepts(r["text"], grow=True)
            if not cs:
                continue
            ws = [self._postings.idf(c) for c in cs]
            norm = normalise(r["text"])
            keys = frozenset(k for c in cs for k in c.keys)
            phrasings.add(Phrasing(r["faq"], cs, keys, ws, sum(ws), question_types(norm), norm))
            for w in spelling_words(r["text"]):
                vocab_count[w] += 1
        phrasings.finish()
        self._phrasing_postings = phrasings
        self.faq: dict[str, _Faq] = {
            r["id"]: _Faq(r["id"], r["question"], r["answer"], cites[r["id"]])
            for r in db.query("select id, question, answer from faq order by rowid")
        }
        self._faq_ids = list(self.faq)
        # The documents a FAQ entry cites: someone listed what people ask about them.
        faq_documents = {
            self._postings.document_of(sid)
            for e in self.faq.values() for sid in e.cites if sid in self.sentences
        }
        self._faq_norms = [normalise(self.faq[f].question) for f in self._faq_ids]
        self._scorer = Scorer(
            self._postings, phrasings, {fid: e.cites for fid, e in self.faq.items()}
        )
        for w in analyzer.term_words:
            vocab_count[w] += 1
        analyzer.speller = Speller(vocab_count)
        self._library = Library(self.documents.values(), analyzer)
        self._gauge = Gauge(self._postings, phrasings, faq_documents)

    def concepts(self, text: str, query: bool = False) -> list[Concept]:
        """The concepts of a text; a query has its misspelt and half-typed words mended."""
        return self._analyzer.concepts(text, query=query)

    # -------------------------------------------------------------- answer
    def ask(self, question: str) -> Answer:
        # Text pasted from the web may carry entities ("&amp;", "&#39;"): read them as characters.
        text = html.unescape(question[:MAX_QUERY_CHARS])
        # "hi! doing homework, what year was X founded?": the question part is what is matched.
        asked = read_message(text)
        text = asked.question
        query = self.concepts(text, query=True)
        if len(query) == 1:
            query = [self._analyzer.without_synonyms(query[0])]
        if not query:
            return Answer(query=question, answered=False, confidence=0.0,
                          suggestions=self._suggest([], normalise(text)), others=asked.others)
        weights = [self._postings.idf(c) for c in query]
        norm = normalise(text)
        qtypes = question_types(norm)
        direct = self._scorer.sentences(query, weights, qtypes, self.settings.candidate_cap)
        direct = phrase_bonus(direct, query, weights, self._postings.concepts_of)
        direct = self._library.prior(direct, query, weights, self._postings.document_of)
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
                          suggestions=self._suggest(faqs, norm), others=asked.others)
        # The answer is the lead FAQ entry's cites, or the best sentence with the rest of its
        # paragraph: a close runner-up beside it says the same passage answers, not that
        # another place in the document might.
        if lead:
            group = set(self.faq[lead].cites)
        else:
            where = self._postings.place_of(ranked[0])
            group = {sid for sid in ranked[:MAX_EXCERPTS + MAX_MORE]
                     if self._postings.place_of(sid) == where}
        top = ranked[0]
        # Only a runner-up above the relevance floor is certain (FAQ entries below it may go
        # unscored): the lead is counted up to there.
        headroom = final[top] - self._relevance_floor(final[top])
        seen = self._gauge.read(query, weights, qtypes, direct, final, ranked, group, faqs, lead,
                                self.settings.margin, headroom)
        raw = seen.evidence
        confidence = probability(seen, self.settings.calibration)
        if refuses(confidence, self.settings.threshold):
            return Answer(query=question, answered=False, confidence=confidence,
                          suggestions=self._suggest(faqs, norm), raw=raw,
                          evidence=seen.vector(), others=asked.others)
        keys = frozenset(k for c in query for k in c.keys)
        # Sentences far weaker than the best are noise next to it, not further answers.
        floor = RELATIVE_FLOOR * final[ranked[0]]
        ranked = _once(ranked)
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
            evidence=seen.vector(),
            others=asked.others,
        )

    def _score_faq(
        self,
        query: list[Concept],
        weights: list[float],
        qtypes: frozenset[str],
        norm: str,
        floor: float = 0.0,
    ) -> list[tuple[float, str]]:
        """FAQ entries by score, best first; those that cannot reach `floor` may be left out
        (a method of its own so the tests can check that leaving them out changes nothing)."""
        return self._scorer.faq(query, weights, qtypes, norm, floor)

    def _rank(
        self, direct: dict[int, float], faqs: list[tuple[float, str]], qtypes: frozenset[str]
    ) -> tuple[dict[int, float], list[int], str | None]:
        s = self.settings
        return self._scorer.rank(direct, faqs, qtypes, s.direct_weight, s.faq_threshold)

    def _relevance_floor(self, top: float) -> float:
        """Below this, a sentence next to a best one scoring `top` is neither quoted
        (RELATIVE_FLOOR) nor a close runner-up (margin)."""
        return min(RELATIVE_FLOOR * top, top - self.settings.margin)

    def _sentence_concepts(self, sid: int) -> list[Concept]:
        return self.concepts(self._text(sid))

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
        excerpts = tuple(self._excerpt(sid, 1.0, keys) for sid in _once(e.cites))
        return Answer(e.question, True, 1.0, self._faq_hit(fid), excerpts[:MAX_EXCERPTS])

    def faq_list(self) -> list[Suggestion]:
        return [Suggestion(e.id, e.question) for e in self.faq.values()]

    def key_df(self, key: Key) -> int:
        """How many sentences hold a key."""
        return self._postings.postings.size(key)

    def sentences_holding(self, keys: Iterable[Key]) -> set[int]:
        """The ids of every sentence holding any of the keys (no text read)."""
        return holders_of(keys, self._postings.postings)

    def paragraph(self, document: str, paragraph: int) -> str | None:
        rows = self._query(
            "select text from paragraphs where document = ? and paragraph = ?",
            [document, paragraph],
        )
        return rows[0][0] if rows else None


def _once(sids: Iterable[int]) -> list[int]:
    """Each sentence once, first place kept. The build refuses an entry citing one sentence
    twice, but an index built before it did may still hold one, and no answer shows it twice."""
    return list(dict.fromkeys(sids))


def iter_questions(lines: Iterable[str]) -> Iterable[str]:
    """The non-blank lines of a stream, one question each (`ask -`)."""
    for line in lines:
        line = line.rstrip("\n")
        if line.strip():
            yield line

