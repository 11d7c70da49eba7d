"""bot.faqsuggest and `python -m bot faq suggest`: proposals for the FAQ from the question log."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import faqsuggest
from bot.__main__ import main
from bot.answer import Answer, Excerpt, FaqHit
from bot.index import build
from bot.ingest import SeedError
from bot.questionlog import QuestionLog
from bot.search import Engine

DAY1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
DAY2 = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
REFUSED = Answer(query="q", answered=False, confidence=0.1)
LINKED = "who runs homs these days"  # refused, then tapped homs_captured_by, three times
LINKED_ONCE = "homs new bosses"
DISOWNED = "who is boss in homs"  # tapped, but the answer it sent got a 👎
FAR = "How many fighters does HTS have?"  # led by uprising_groups, far from its phrasings
NEAR = "which group captured homs city"  # led by homs_captured_by, close to its phrasings
DISLIKED = "what happened to the homs governor"  # led by homs_captured_by, 👎
IN_SCOPE = ["How many fighters does HTS have?", "How many fighters does HTS have?",
            "how many fighters has HTS got"]
OUT_OF_SCOPE = ["whats the weather in london tomorrow", "what is the weather in london tomorrow",
                "weather in london tomorrow?"]


def _led(faq_id: str) -> Answer:
    excerpt = Excerpt(text="x", document="article", paragraph=1, sentence=1, score=1.0)
    return Answer(query="q", answered=True, confidence=0.9,
                  faq=FaqHit(id=faq_id, question="q", answer="a"), excerpts=(excerpt,))


class _Log:
    """A QuestionLog with numbered keys and users, so each test reads as the people's steps."""

    def __init__(self, log: QuestionLog) -> None:
        self.log, self.n = log, 0

    def ask(self, question: str, answer: Answer, at: datetime = DAY2) -> str:
        self.n += 1
        key = f"k{self.n}"
        self.log.record(question=question, answer=answer, chat_type="private",
                        user_id=self.n, answer_key=key, at=at)
        return key

    def tap(self, key: str, faq_id: str, vote: int = 0, at: datetime = DAY2) -> None:
        """After a refusal: tap the entry's suggestion; the answer it sends may get a vote."""
        shown = self.ask(f"question of {faq_id}", _led(faq_id), at)
        self.log.record_link(answer_key=key, faq_id=faq_id, user_id=self.n, shown_key=shown,
                             at=at)
        if vote:
            self.log.record_feedback(answer_key=shown, user_id=self.n, vote=vote, at=at)

    def vote(self, key: str, vote: int) -> None:
        self.log.record_feedback(answer_key=key, user_id=self.n, vote=vote, at=DAY2)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "questions.sqlite3"
    with QuestionLog(path) as question_log:
        log = _Log(question_log)
        for _ in range(3):
            log.tap(log.ask(LINKED, REFUSED), "homs_captured_by")
        log.tap(log.ask(LINKED_ONCE, REFUSED, at=DAY1), "homs_captured_by", at=DAY1)
        for _ in range(2):
            log.tap(log.ask(DISOWNED, REFUSED), "homs_captured_by", vote=-1)
            log.ask(FAR, _led("uprising_groups"))
            log.ask(NEAR, _led("homs_captured_by"))
            log.vote(log.ask(DISLIKED, _led("homs_captured_by")), -1)
        for q in IN_SCOPE + OUT_OF_SCOPE:
            log.ask(q, REFUSED)
    return path


@pytest.fixture
def result(log_path: Path, real_seeds: Path, engine: Engine) -> faqsuggest.Suggestions:
    return faqsuggest.suggest_from_logs(log_path, real_seeds, engine)


def _phrasings(result: faqsuggest.Suggestions) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    return {p.phrasing: (p.faq_id, p.count, p.sources) for p in result.phrasings}


def test_linked_questions_become_phrasings_of_their_entry_with_counts(
    result: faqsuggest.Suggestions,
) -> None:
    assert _phrasings(result)[LINKED] == ("homs_captured_by", 3, ("button",))
    # A tapped question is the entry's phrasing, not a draft of its own.
    assert LINKED not in str([d.question for d in result.drafts] + result.out_of_scope)


def test_a_question_with_a_thumbs_down_is_never_proposed(result: faqsuggest.Suggestions) -> None:
    proposed = _phrasings(result)
    assert DISOWNED not in proposed  # its tap sent an answer that got a 👎
    assert DISLIKED not in proposed  # far from the entry, but its answer got a 👎
    # The 👎 says the entry was the wrong one, so the question counts as unanswered again:
    # with nothing in the document for it, it is out of scope.
    assert DISOWNED in [o.question for o in result.out_of_scope]


def test_a_question_an_entry_answered_far_from_its_phrasings_is_proposed(
    result: faqsuggest.Suggestions,
) -> None:
    [far] = [p for p in result.phrasings if p.phrasing == FAR]
    assert (far.faq_id, far.count, far.sources) == ("uprising_groups", 2, ("far",))
    assert far.closeness is not None and far.closeness < faqsuggest.FAR_CUTOFF
    assert NEAR not in _phrasings(result)  # close to "who captured homs": nothing to add


def test_an_unanswered_cluster_the_document_answers_becomes_a_draft_citing_it_verbatim(
    result: faqsuggest.Suggestions, engine: Engine
) -> None:
    [draft] = result.drafts
    assert (draft.question, draft.phrasings, draft.count) == (
        IN_SCOPE[0], ("how many fighters has HTS got",), 3
    )
    sentences = {s.text for s in engine.sentences.values()}
    assert draft.cites and all(c in sentences for c in draft.cites)
    assert draft.confidence >= faqsuggest.SCOPE_FLOOR
    assert re.fullmatch(r"[a-z0-9_]{1,40}", draft.id)
    [table] = [t for t in tomllib.loads(faqsuggest.format_toml(result))["faq"]
               if t["id"] == draft.id]
    assert table == {"id": draft.id, "question": IN_SCOPE[0],
                     "phrasings": ["how many fighters has HTS got"], "answer": "",
                     "cites": list(draft.cites), "draft": True}


def test_an_out_of_scope_cluster_is_only_a_comment(result: faqsuggest.Suggestions) -> None:
    out = result.out_of_scope[0]
    assert (out.question, out.count) == ("weather in london tomorrow?", 3)
    text = faqsuggest.format_toml(result)
    assert "# out of scope, asked 3 times: weather in london tomorrow?" in text
    assert "london" not in str(tomllib.loads(text))


def test_min_count_drops_the_rarer_proposals(
    log_path: Path, real_seeds: Path, engine: Engine
) -> None:
    default = faqsuggest.suggest_from_logs(log_path, real_seeds, engine)
    assert LINKED_ONCE not in _phrasings(default)
    every = faqsuggest.suggest_from_logs(log_path, real_seeds, engine, min_count=1)
    assert _phrasings(every)[LINKED_ONCE] == ("homs_captured_by", 1, ("button",))
    strict = faqsuggest.suggest_from_logs(log_path, real_seeds, engine, min_count=3)
    assert [p.phrasing for p in strict.phrasings] == [LINKED]
    assert [d.count for d in strict.drafts] == [3]
    since = faqsuggest.suggest_from_logs(log_path, real_seeds, engine, min_count=1,
                                         since=date(2025, 3, 2))
    assert LINKED_ONCE not in _phrasings(since)  # asked on day 1


def test_the_output_parses_and_the_build_refuses_a_draft_naming_file_line_and_entry(
    result: faqsuggest.Suggestions, real_seeds: Path, tmp_path: Path
) -> None:
    text = faqsuggest.format_toml(result, faqsuggest.read_entries(real_seeds))
    parsed = tomllib.loads(text)
    assert [t["id"] for t in parsed["faq"]] == [
        "homs_captured_by", "uprising_groups", result.drafts[0].id
    ]
    assert "# New phrasings for homs_captured_by (Who captured Homs?)." in text
    assert "asked 3 times: tapped its suggestion after a refusal" in text
    seeds = Path(shutil.copytree(real_seeds, tmp_path / "seeds"))
    draft = _draft_only(text)  # the phrasings' ids are entries of faq.toml already
    (seeds / "drafts.faq.toml").write_text(draft, encoding="utf-8")
    with pytest.raises(SeedError) as refused:
        build(seeds, tmp_path / "index.sqlite3")
    header = draft.splitlines().index("[[faq]]") + 1
    message = str(refused.value)
    assert message.startswith(f"{seeds / 'drafts.faq.toml'}:{header}: ")
    assert f"FAQ entry {result.drafts[0].id!r} is a draft (draft = true)" in message


def _draft_only(text: str) -> str:
    """The proposal file from the first draft's comment on (the phrasings sections cut)."""
    start = text.index("# Draft:")
    return text[start:]


def test_suggest_json_prints_one_object(
    capsys: pytest.CaptureFixture[str], log_path: Path, real_seeds: Path, tmp_path: Path
) -> None:
    code = main(["faq", "suggest", "--json", "--log", str(log_path), "--seeds", str(real_seeds),
                 "--db", str(tmp_path / "index.sqlite3")])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["log", "since", "min_count", "phrasings", "drafts", "out_of_scope",
                          "not_stored"]
    assert data["min_count"] == 2
    assert {(p["faq_id"], p["phrasing"], p["count"]) for p in data["phrasings"]} == {
        ("homs_captured_by", LINKED, 3), ("uprising_groups", FAR, 2)
    }
    assert [(d["question"], d["answer"], d["draft"]) for d in data["drafts"]] == [
        (IN_SCOPE[0], "", True)
    ]
    assert [(o["question"], o["count"]) for o in data["out_of_scope"]] == [
        ("weather in london tomorrow?", 3), (DISOWNED, 2)
    ]
    code = main(["faq", "suggest", "--since", "March 2", "--log", str(log_path),
                 "--seeds", str(real_seeds), "--db", str(tmp_path / "index.sqlite3")])
    assert code == 2 and "--since" in capsys.readouterr().err


def test_without_stored_text_links_are_counted_but_nothing_is_proposed(
    tmp_path: Path, real_seeds: Path, engine: Engine
) -> None:
    path = tmp_path / "questions.sqlite3"
    with QuestionLog(path, store_text=False) as question_log:
        log = _Log(question_log)
        for _ in range(3):
            log.tap(log.ask(LINKED, REFUSED), "homs_captured_by")
    result = faqsuggest.suggest_from_logs(path, real_seeds, engine)
    assert (result.phrasings, result.drafts, result.out_of_scope) == ([], [], [])
    assert result.not_stored == 3
    assert "3 question(s) could not be proposed" in faqsuggest.format_toml(result)
