"""bot.report and `python -m bot report`: the editor's view of what the bot could not answer."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import report as report_module
from bot.__main__ import main
from bot.answer import Answer, Excerpt, FaqHit
from bot.questionlog import QuestionLog
from bot.report import NOT_STORED, build_report, group_questions, short_stats

DAY1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
DAY2 = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)

SYRIA_PM = [
    "who is the pm of syria",
    "who is the pm of syria",
    "who is the pm of syria",
    "Who is the PM of Syria?",
    "who's syria's PM?",
    "who's syria's PM?",
    "Who is Syria\u2019s prime minister",
    "who is the prime minister of syria",
]
FLED = ["how many people fled homs", "How many people fled Homs?"]
NO_PERIOD = {"period": {"first": None, "last": None, "keep_days": None}}


def _no(query: str = "q") -> Answer:
    return Answer(query=query, answered=False, confidence=0.1)


def _yes(confidence: float = 0.9, faq: str | None = None, paragraph: int = 1) -> Answer:
    excerpt = Excerpt(text="x", document="article", paragraph=paragraph, sentence=2, score=1.0)
    hit = FaqHit(id=faq, question="q", answer="a") if faq else None
    return Answer(query="q", answered=True, confidence=confidence, faq=hit, excerpts=(excerpt,))


def _ask(
    log: QuestionLog,
    question: str,
    answer: Answer,
    *,
    key: str | None = None,
    user: int = 1,
    at: datetime = DAY2,
) -> None:
    log.record(question=question, answer=answer, chat_type="private", user_id=user,
               answer_key=key, at=at)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """A log with near-duplicate unanswered questions, FAQ hits, votes and weak answers."""
    path = tmp_path / "questions.sqlite3"
    with QuestionLog(path) as log:
        for q in SYRIA_PM:
            _ask(log, q, _no())
        for q in FLED:
            _ask(log, q, _no())
        _ask(log, "when did assad leave", _no(), at=DAY1)
        _ask(log, "who took homs", _yes(faq="homs"), key="k1")
        _ask(log, "who captured homs", _yes(faq="homs"), key="k2")
        _ask(log, "who captured homs?", _yes(faq="homs"), key="k3")
        _ask(log, "where is damascus", _yes(faq="damascus"), key="k4")
        _ask(log, "is aleppo taken", _yes(0.55, paragraph=7), key="k5")
        _ask(log, "what did the army do", _yes(0.41, paragraph=9), key="k6", at=DAY1)
        _ask(log, "what did the army do", _yes(0.5, paragraph=9), key="k7")
        votes = [("k1", 1, -1), ("k2", 2, -1), ("k3", 3, -1), ("k5", 1, -1), ("k5", 2, -1),
                 ("k5", 3, -1), ("k1", 1, 1), ("k4", 1, 1)]  # user 1 changed their mind on k1
        for key, user, vote in votes:
            log.record_feedback(answer_key=key, user_id=user, vote=vote, at=DAY2)
    return path


@pytest.fixture
def config(tmp_path: Path, log_path: Path) -> str:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[log]\npath = "{log_path.name}"\n', encoding="utf-8")
    return str(cfg)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_near_duplicate_wordings_are_counted_as_one_group() -> None:
    groups = group_questions([*SYRIA_PM, *FLED, "when did assad leave"])
    assert [g["count"] for g in groups] == [8, 2, 1]
    pm = groups[0]
    assert pm["question"] == "who is the pm of syria"  # the most frequent wording
    assert pm["examples"][:2] == ["who is the pm of syria", "who's syria's PM?"]
    assert set(pm["examples"]) == set(SYRIA_PM)
    assert groups[1]["question"] == "How many people fled Homs?"  # a tie goes alphabetically


def test_distinct_questions_stay_apart() -> None:
    groups = group_questions(["who took homs", "where is assad", "how many soldiers fled to iraq"])
    assert [g["count"] for g in groups] == [1, 1, 1]


def test_questions_of_punctuation_alone_group_together_and_match_nothing_else() -> None:
    groups = group_questions(["???", "!!!", "???", "who?", "  "])
    assert [(g["question"], g["count"]) for g in groups] == [("???", 3), ("who?", 1)]
    assert groups[0]["examples"] == ["???", "!!!"]


def test_groups_list_at_most_five_distinct_examples_most_frequent_first() -> None:
    wordings = ["what is hts"] * 4 + ["What is HTS?"] * 3 + [
        "what is hts?!", "WHAT IS HTS", "what   is hts", "What is hts.", "what's hts"
    ]
    [group] = group_questions(wordings)
    assert group["count"] == 12
    assert group["question"] == "what is hts"
    assert len(group["examples"]) == 5
    assert group["examples"][:2] == ["what is hts", "What is HTS?"]
    assert len(set(group["examples"])) == 5


def test_questions_whose_text_was_not_stored_are_counted_under_a_placeholder() -> None:
    groups = group_questions([None, None, None, "who took homs"])
    assert groups[0] == {"question": NOT_STORED, "count": 3, "examples": []}
    assert groups[1]["count"] == 1


def test_report_sections_are_ordered_most_first(log_path: Path) -> None:
    report = build_report(log_path)
    assert [g["count"] for g in report.unanswered] == [8, 2, 1]
    assert report.faq_hits == [{"id": "homs", "count": 3}, {"id": "damascus", "count": 1}]
    # Thumbs-down are counted per answer, whichever question it was given to; a vote changed
    # to thumbs-up no longer counts.
    assert report.disliked == [
        {"question": "is aleppo taken", "answer": "article, paragraph 7, sentence 2", "count": 3},
        {"question": "who captured homs", "answer": "faq:homs", "count": 2},
    ]
    assert report.low_confidence == [
        {"question": "what did the army do", "confidence": 0.41},
        {"question": "is aleppo taken", "confidence": 0.55},
    ]
    assert (report.total, report.answered) == (18, 7)


def test_report_json_prints_exactly_one_object_of_five_sections_and_the_period(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, err = _run(capsys, "report", "--json", "--config", config)
    assert code == 0 and not err
    data = json.loads(out)
    assert list(data) == ["unanswered", "disliked", "faq_hits", "low_confidence", "faq_loop",
                          "period"]
    assert data["period"] == {"first": "2025-03-01T10:00:00.000+00:00",
                              "last": "2025-03-02T10:00:00.000+00:00", "keep_days": None}
    assert data["unanswered"][0] == {
        "question": "who is the pm of syria",
        "count": 8,
        "examples": data["unanswered"][0]["examples"],
    }
    assert all(set(g) == {"question", "count", "examples"} for g in data["unanswered"])
    assert all(set(d) == {"question", "answer", "count"} for d in data["disliked"])
    assert all(set(h) == {"id", "count"} for h in data["faq_hits"])
    assert all(set(r) == {"question", "confidence"} for r in data["low_confidence"])
    assert all(isinstance(r["confidence"], float) for r in data["low_confidence"])
    assert all(set(r) == {"id", "led", "up", "down", "linked"} for r in data["faq_loop"])


def test_report_since_leaves_out_earlier_days(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, _ = _run(capsys, "report", "--json", "--since", "2025-03-02", "--config", config)
    assert code == 0
    data = json.loads(out)
    assert [g["count"] for g in data["unanswered"]] == [8, 2]  # "when did assad leave" was day 1
    assert data["low_confidence"] == [
        {"question": "what did the army do", "confidence": 0.5},
        {"question": "is aleppo taken", "confidence": 0.55},
    ]
    assert data["period"]["first"] == "2025-03-02T10:00:00.000+00:00"
    code, out, _ = _run(capsys, "report", "--json", "--since", "2025-03-03", "--config", config)
    assert json.loads(out) == {"unanswered": [], "disliked": [], "faq_hits": [],
                               "low_confidence": [], "faq_loop": [], **NO_PERIOD}


def test_report_csv_is_one_table_with_a_section_column(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, _ = _run(capsys, "report", "--csv", "--config", config)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["section"] for r in rows} == {"unanswered", "disliked", "faq_hits", "low_confidence",
                                            "faq_loop"}
    first = rows[0]
    assert (first["section"], first["question"], first["count"]) == (
        "unanswered", "who is the pm of syria", "8"
    )
    assert "who's syria's PM?" in first["examples"].split(" | ")
    hits = [r for r in rows if r["section"] == "faq_hits"]
    assert [(r["id"], r["count"]) for r in hits] == [("homs", "3"), ("damascus", "1")]


def test_report_text_is_readable_and_names_every_section(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, _ = _run(capsys, "report", "--config", config)
    assert code == 0
    assert "18 questions, 39% answered" in out
    assert out.splitlines()[1] == (
        "From 2025-03-01 10:00 UTC to 2025-03-02 10:00 UTC; keeping everything."
    )
    assert "      8  who is the pm of syria" in out
    assert "~ who's syria's PM?" in out
    for heading in ("Unanswered", "thumbs-down", "FAQ entries", "low confidence"):
        assert heading in out


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01", "2025-02-30", "20250301", ""])
def test_report_with_a_bad_since_date_exits_2(
    capsys: pytest.CaptureFixture[str], config: str, bad: str
) -> None:
    code, out, err = _run(capsys, "report", "--since", bad, "--config", config)
    assert code == 2
    assert err.startswith("error: ") and "--since" in err
    assert not out


def test_report_without_a_log_says_so_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[log]\npath = "missing/questions.sqlite3"\n', encoding="utf-8")
    missing = tmp_path / "missing" / "questions.sqlite3"
    code, out, _ = _run(capsys, "report", "--config", str(cfg))
    assert code == 0
    assert out.strip() == f"no questions logged yet at {missing}"
    code, out, err = _run(capsys, "report", "--json", "--config", str(cfg))
    assert code == 0
    assert json.loads(out) == {"unanswered": [], "disliked": [], "faq_hits": [],
                               "low_confidence": [], "faq_loop": [], **NO_PERIOD}
    assert "no questions logged yet" in err
    assert not missing.parent.exists()


def test_report_on_a_file_that_is_not_a_log_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "questions.sqlite3").write_text("not a database " * 100, encoding="utf-8")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[log]\npath = "questions.sqlite3"\n', encoding="utf-8")
    code, _, err = _run(capsys, "report", "--json", "--config", str(cfg))
    assert code == 2
    assert err.startswith("error: ")


def test_unanswered_questions_without_stored_text_are_still_counted(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    with QuestionLog(path, store_text=False) as log:
        for q in SYRIA_PM:
            _ask(log, q, _no())
        _ask(log, "is aleppo taken", _yes(0.3), key="k1")
        log.record_feedback(answer_key="k1", user_id=5, vote=-1)
    report = build_report(path)
    assert report.unanswered == [{"question": NOT_STORED, "count": 8, "examples": []}]
    assert report.low_confidence == [{"question": NOT_STORED, "confidence": 0.3}]
    assert report.disliked[0]["question"] == NOT_STORED


def test_short_stats_sums_up_in_a_few_lines(log_path: Path) -> None:
    text = short_stats(log_path, today=date(2025, 3, 2))
    lines = text.splitlines()
    assert lines[0] == "Questions today: 16 (total 18)"
    assert lines[1] == "Answered: 39%"
    assert lines[2].startswith("Top unanswered (30 days): who is the pm of syria (8); ")
    assert lines[2].count("; ") == 2  # three groups
    assert lines[3] == "Top FAQ: homs (3)"
    assert len(lines) <= 5
    months_later = short_stats(log_path, today=date(2025, 6, 1))
    assert "Questions today: 0 (total 18)" in months_later
    assert "Top unanswered" not in months_later


def test_short_stats_without_a_log(tmp_path: Path) -> None:
    assert short_stats(tmp_path / "nothing.sqlite3") == "No questions logged yet."
    assert not (tmp_path / "nothing.sqlite3").exists()


def test_report_merges_the_logs_of_several_replicas(
    capsys: pytest.CaptureFixture[str], log_path: Path, tmp_path: Path
) -> None:
    other = tmp_path / "replica-2.sqlite3"
    with QuestionLog(other) as log:
        _ask(log, "who is the pm of syria", _no())
        _ask(log, "Who is the PM of Syria?", _no())
        _ask(log, "who took homs", _yes(faq="homs"), key="r2-k1")
        log.record_feedback(answer_key="r2-k1", user_id=9, vote=-1, at=DAY2)
    alone = build_report(log_path)
    code, out, _ = _run(capsys, "report", "--json", "--log", str(log_path), "--log", str(other))
    assert code == 0
    merged = json.loads(out)
    assert merged["unanswered"][0]["count"] == alone.unanswered[0]["count"] + 2
    hits = {h["id"]: h["count"] for h in merged["faq_hits"]}
    assert hits == {h["id"]: h["count"] + (h["id"] == "homs") for h in alone.faq_hits}
    disliked = {d["answer"]: d["count"] for d in merged["disliked"]}
    assert disliked["faq:homs"] == {d["answer"]: d["count"] for d in alone.disliked}["faq:homs"] + 1
    assert build_report([log_path, other]).total == alone.total + 3
    code, out, _ = _run(capsys, "report", "--log", str(log_path), "--log", str(other))
    assert out.startswith(f"Question logs {log_path}, {other}: {alone.total + 3} questions")


def test_report_reads_the_logs_that_exist_and_warns_about_the_others(
    capsys: pytest.CaptureFixture[str], log_path: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.sqlite3"
    code, out, err = _run(capsys, "report", "--json", "--log", str(log_path), "--log", str(missing))
    assert code == 0
    assert json.loads(out) == build_report(log_path).to_json()
    assert err.strip() == f"warning: no question log at {missing}; reporting the others"
    assert not missing.exists()


# -- forgetting, retention, the period ----------------------------------------------------------


def test_after_forget_the_report_has_none_of_that_persons_questions_or_votes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "q.sqlite3"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[log]\npath = "{path.name}"\n', encoding="utf-8")
    alice, bob = 1, 2
    with QuestionLog(path) as log:
        _ask(log, "what does alice want to know", _no(), user=alice)
        _ask(log, "who took homs", _yes(faq="homs"), key="a1", user=alice)
        _ask(log, "who is the pm of syria", _no(), user=bob)
        _ask(log, "who captured homs", _yes(faq="homs"), key="b1", user=bob)
        log.record_feedback(answer_key="a1", user_id=alice, vote=-1, at=DAY2)
        log.record_feedback(answer_key="b1", user_id=alice, vote=-1, at=DAY2)  # on bob's
        log.record_feedback(answer_key="b1", user_id=bob, vote=-1, at=DAY2)
        assert log.flush(timeout=5)
        before = build_report(path)
        assert before.disliked[0]["count"] == 3
        assert log.forget(alice).rows == 4
    code, out, _ = _run(capsys, "report", "--json", "--config", str(cfg))
    assert code == 0
    after = json.loads(out)
    assert [g["question"] for g in after["unanswered"]] == ["who is the pm of syria"]
    assert after["faq_hits"] == [{"id": "homs", "count": 1}]
    assert after["disliked"] == [
        {"question": "who captured homs", "answer": "faq:homs", "count": 1}  # bob's own vote
    ]
    assert "alice" not in out


def _old(path: Path, days_ago: int, question: str) -> None:
    at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO questions (ts, chat_type, question, answered) VALUES (?, 'private', ?, 0)",
            [at, question],
        )
    conn.close()


def test_retention_deletes_old_questions_and_the_report_says_which_period_it_covers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "q.sqlite3"
    QuestionLog(path).close()
    _old(path, 400, "a question from last year")
    _old(path, 20, "a question from this month")
    recent = datetime.now(UTC) - timedelta(days=1)
    with QuestionLog(path) as log:
        _ask(log, "a question from yesterday", _no(), at=recent)
    assert build_report(path).total == 3  # no retention yet
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[log]\npath = "{path.name}"\nkeep_days = 90\n', encoding="utf-8")
    assert main(["forget", "--user-id", "12345", "--config", str(cfg)]) == 0  # opens the log
    capsys.readouterr()
    report = build_report(path)
    assert report.total == 2 and report.keep_days == 90
    assert report.first is not None and report.last is not None
    first = datetime.fromisoformat(report.first)
    assert timedelta(days=19) < datetime.now(UTC) - first < timedelta(days=21)
    assert datetime.fromisoformat(report.last) == recent.replace(
        microsecond=recent.microsecond // 1000 * 1000
    )
    code, out, _ = _run(capsys, "report", "--config", str(cfg))
    assert code == 0
    assert "a question from last year" not in out
    assert f"From {first:%Y-%m-%d %H:%M} UTC to {recent:%Y-%m-%d %H:%M} UTC; keeping 90 days" in out
    code, out, _ = _run(capsys, "report", "--json", "--config", str(cfg))
    assert json.loads(out)["period"] == {"first": report.first, "last": report.last,
                                         "keep_days": 90}


def test_merged_logs_report_the_longest_retention_among_them(tmp_path: Path) -> None:
    paths = [tmp_path / f"{n}.sqlite3" for n in ("a", "b", "c")]
    for path, days in zip(paths, (30, 90, 0), strict=True):
        with QuestionLog(path, keep_days=days) as log:
            _ask(log, "who took homs", _no(), at=datetime.now(UTC))
    assert build_report(paths[:2]).keep_days == 90
    assert build_report(paths).keep_days is None  # one of them keeps everything


def test_many_wordings_are_grouped_by_shared_rare_words_like_every_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past EXACT_KEYS wordings only those sharing a rare word are compared: the groups must
    stay those of comparing every pair, here where a typo or filler is all that differs."""
    rng = random.Random(7)
    topics = [f"{a} {b}" for a in ("homs", "hama", "aleppo", "idlib", "deraa", "raqqa")
              for b in ("population", "weather", "mayor", "history", "hospitals")]
    questions = []
    for topic in topics:
        base = f"what is the {topic.split()[1]} of {topic.split()[0]}"
        for _ in range(rng.randint(3, 9)):
            word = list(rng.choice(base.split()[3:]))
            i = rng.randrange(len(word) - 1)
            word[i], word[i + 1] = word[i + 1], word[i]
            questions += [base, base.upper() + "?", f"please tell me {base}",
                          base.replace(base.split()[-1], "".join(word))]
    exact = group_questions(questions)
    monkeypatch.setattr(report_module, "EXACT_KEYS", 0)
    blocked = group_questions(questions)
    assert blocked == exact
    assert [g["count"] for g in group_questions([*SYRIA_PM, *FLED, "when did assad leave"])] == [
        8, 2, 1
    ]


def test_bench_report_times_every_step_on_a_synthetic_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keep = tmp_path / "synthetic.sqlite3"
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    code, out, _ = _run(capsys, "bench-report", "--rows", "3000", "--json", "--keep", str(keep),
                        "--seeds", str(seeds))
    assert code == 0
    result = json.loads(out)
    assert (result["rows"], result["questions"], result["people"] > 100) == (3000, 3000, True)
    for step in ("report_text_s", "report_json_s", "stats_s", "forget_s", "purge_s"):
        assert result[step] >= 0
    assert result["forgotten_rows"] > 0 and result["purge_rows"] > 0
    report = build_report(keep)  # kept as made: forget and the purge ran on a copy
    assert report.total == 3000 and 0.6 < report.answered / report.total < 0.8
    assert report.disliked and report.faq_hits and report.unanswered


# -- the editor's loop: per FAQ entry ------------------------------------------------------------


def test_report_shows_per_entry_led_votes_and_links_after_a_refusal(
    log_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with QuestionLog(log_path) as log:
        for user in (5, 6):  # refused, then a tap on the damascus suggestion
            _ask(log, "is damascus next", _no(), key=f"r{user}", user=user)
            log.record_link(answer_key=f"r{user}", faq_id="damascus", user_id=user, at=DAY2)
        log.record_link(answer_key="r5", faq_id="aleppo", user_id=5, at=DAY1)  # before --since
    # From the fixture: homs led 3 answers (k1 now 👍, k2 and k3 👎), damascus 1 (k4 👍).
    loop = build_report(log_path).faq_loop
    assert loop == [
        {"id": "homs", "led": 3, "up": 1, "down": 2, "linked": 0},
        {"id": "damascus", "led": 1, "up": 1, "down": 0, "linked": 2},
        {"id": "aleppo", "led": 0, "up": 0, "down": 0, "linked": 1},
    ]
    assert build_report(log_path, date(2025, 3, 2)).faq_loop == loop[:2]
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[log]\npath = "{log_path.name}"\n', encoding="utf-8")
    code, out, _ = _run(capsys, "report", "--config", str(cfg))
    assert code == 0
    assert "FAQ entries in the loop" in out
    assert "      3      1      2       0  homs" in out.splitlines()
    code, out, _ = _run(capsys, "report", "--csv", "--config", str(cfg))
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["section"] == "faq_loop"]
    assert [(r["id"], r["led"], r["up"], r["down"], r["linked"]) for r in rows] == [
        ("homs", "3", "1", "2", "0"), ("damascus", "1", "1", "0", "2"),
        ("aleppo", "0", "0", "0", "1"),
    ]
    code, out, _ = _run(capsys, "report", "--json", "--config", str(cfg))
    assert json.loads(out)["faq_loop"] == loop


def test_merged_logs_keep_their_links(log_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "replica.sqlite3"
    with QuestionLog(other) as log:
        _ask(log, "is damascus next", _no(), key="x1")
        log.record_link(answer_key="x1", faq_id="damascus", user_id=1, at=DAY2)
    loop = {r["id"]: r for r in build_report([log_path, other]).faq_loop}
    assert (loop["damascus"]["led"], loop["damascus"]["linked"]) == (1, 1)
