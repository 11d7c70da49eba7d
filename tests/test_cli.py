"""bot.__main__: the command line others script against, so its output shapes and exit codes."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import ARTICLE_NAME, MakeSeeds

EXCERPT_KEYS = {"text", "document", "paragraph", "sentence", "score"}
ANSWER_KEYS = {"query", "answered", "confidence", "faq", "excerpts", "suggestions"}


@pytest.fixture
def paths(tmp_path: Path, real_seeds: Path) -> list[str]:
    """--seeds/--db arguments pointing at a private copy of the seeds and a fresh index."""
    seeds = tmp_path / "seeds"
    shutil.copytree(real_seeds, seeds)
    return ["--seeds", str(seeds), "--db", str(tmp_path / "data" / "index.sqlite3")]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_answer_shape(data: dict) -> None:
    assert set(data) == ANSWER_KEYS
    assert isinstance(data["answered"], bool)
    assert isinstance(data["confidence"], float | int) and 0 <= data["confidence"] <= 1
    assert data["faq"] is None or {"id", "question", "answer"} <= set(data["faq"])
    for e in data["excerpts"]:
        assert set(e) == EXCERPT_KEYS
        assert isinstance(e["paragraph"], int) and isinstance(e["sentence"], int)
    for s in data["suggestions"]:
        assert set(s) == {"id", "question"}


def test_index_builds_and_then_reports_up_to_date(
    capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    code, out, _ = _run(capsys, "index", *paths)
    assert code == 0
    assert out.startswith("built: ")
    code, out, _ = _run(capsys, "index", *paths)
    assert code == 0
    assert out.startswith("up to date: ")


def test_ask_json_prints_one_object_of_the_documented_shape(
    capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    code, out, _ = _run(capsys, "ask", "--json", *paths, "who took homs")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    _assert_answer_shape(data)
    assert data["query"] == "who took homs"
    assert data["answered"] is True
    assert data["excerpts"] and all(e["document"] == ARTICLE_NAME for e in data["excerpts"])
    assert any("Homs" in e["text"] for e in data["excerpts"])


def test_ask_json_joins_unquoted_words_into_one_question(
    capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    _, out, _ = _run(capsys, "ask", "--json", *paths, "who", "took", "homs")
    assert json.loads(out)["query"] == "who took homs"


def test_ask_json_from_stdin_prints_one_line_per_question_in_order(
    capsys: pytest.CaptureFixture[str], paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["who took homs", "what is the weather in paris", "where is qusayr"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(questions) + "\n"))
    code, out, _ = _run(capsys, "ask", "--json", *paths, "-")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["query"] for r in rows] == questions
    for r in rows:
        _assert_answer_shape(r)
    assert [r["answered"] for r in rows] == [True, False, True]


def test_ask_from_stdin_skips_blank_lines(
    capsys: pytest.CaptureFixture[str], paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("who took homs\n\n   \nwhere is qusayr"))
    _, out, _ = _run(capsys, "ask", "--json", *paths, "-")
    assert [json.loads(line)["query"] for line in out.splitlines()] == [
        "who took homs",
        "where is qusayr",
    ]


def test_plain_ask_prints_quotes_with_their_paragraph(
    capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    code, out, _ = _run(capsys, "ask", *paths, "how far is Homs from Damascus")
    assert code == 0
    assert "paragraph" in out
    assert "nearly a 100 kilometres away" in out
    assert "confidence" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_plain_ask_says_so_when_the_article_does_not_answer(
    capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    _, out, _ = _run(capsys, "ask", *paths, "best pizza recipe")
    assert "does not answer" in out
    assert "paragraph" not in out


def test_chat_ends_on_quit_exit_q_or_colon_q_in_any_case(
    capsys: pytest.CaptureFixture[str], paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What people type to leave a terminal session ends it instead of being asked."""
    for word in ("quit", "  QUIT ", "Exit", "q", ":q", " :Q\t"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"who took homs\n{word}\nwhere is qusayr\n"))
        code, out, _ = _run(capsys, "chat", *paths)
        assert code == 0, word
        assert out.count("(confidence") == 1, word  # the first question only
        assert "Qusayr" not in out, word


def test_chat_asks_a_question_that_only_mentions_quitting(
    capsys: pytest.CaptureFixture[str], paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("did hezbollah quit\nq\n"))
    code, out, _ = _run(capsys, "chat", *paths)
    assert code == 0
    assert out.count("? ") >= 2  # asked, then prompted again
    assert "Hezbollah" in out


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    """Two answerable questions and one the article cannot answer, written for these tests."""
    rows = [
        {"id": "t1", "q": "who took homs", "gold": ["took over the third city of Homs"],
         "kind": "fact"},
        {"id": "t2", "q": "how far is homs from damascus",
         "gold": ["nearly a 100 kilometres away"], "kind": "fact"},
        {"id": "t3", "q": "what is the price of bitcoin today", "gold": [], "kind": "oos"},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_eval_prints_top1_top3_and_mrr(
    capsys: pytest.CaptureFixture[str], paths: list[str], cases: Path
) -> None:
    code, out, _ = _run(capsys, "eval", *paths, str(cases))
    assert code == 0
    assert "questions 3  in scope 2  out of scope 1" in out
    assert "top-1 " in out and "top-3 " in out and "MRR " in out


def test_eval_json_reports_overall_and_per_kind_figures(
    capsys: pytest.CaptureFixture[str], paths: list[str], cases: Path
) -> None:
    code, out, _ = _run(capsys, "eval", "--json", *paths, str(cases))
    assert code == 0
    report = json.loads(out)
    assert {"overall", "kinds"} <= set(report)
    overall = report["overall"]
    assert (overall["questions"], overall["in_scope"], overall["out_of_scope"]) == (3, 2, 1)
    assert 0 <= overall["top1"] <= overall["top3"] <= 1
    assert 0 <= overall["mrr"] <= 1
    assert set(report["kinds"]) == {"fact", "oos"}
    assert report["kinds"]["oos"]["oos_refused"] == 1.0


def test_eval_of_a_malformed_question_file_exits_2(
    capsys: pytest.CaptureFixture[str], paths: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "q": "who"}\n', encoding="utf-8")
    code, _, err = _run(capsys, "eval", *paths, str(bad))
    assert code == 2
    assert err.startswith("error: ") and "bad.jsonl:1" in err


def test_a_broken_seed_folder_exits_2_with_one_error_line_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    seeds = make_seeds(
        tmp_path, {"flood.txt": "The river rose.\n", "faq.toml": '[[faq]]\nid = "x\n'}
    )
    db = tmp_path / "index.sqlite3"
    for command in (["index"], ["ask", "--json", "river"]):
        code, out, err = _run(capsys, command[0], "--seeds", str(seeds), "--db", str(db),
                              *command[1:])
        assert code == 2
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("error: ")
        assert "faq.toml" in lines[0]
        assert "Traceback" not in err


def test_a_broken_seed_after_a_good_build_warns_and_keeps_answering(
    capsys: pytest.CaptureFixture[str], paths: list[str]
) -> None:
    _run(capsys, "index", *paths)
    (Path(paths[1]) / "faq.toml").write_text("[[faq]\n", encoding="utf-8")
    code, out, err = _run(capsys, "ask", "--json", *paths, "who took homs")
    assert code == 0
    assert json.loads(out)["answered"] is True
    assert err.startswith("warning: ") and "faq.toml" in err
    code, _, err = _run(capsys, "index", *paths)
    assert code == 1
    assert "faq.toml" in err


def test_a_config_file_that_is_not_toml_exits_2(
    capsys: pytest.CaptureFixture[str], paths: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[index\nseeds = 'x'\n", encoding="utf-8")
    code, out, err = _run(capsys, "index", "--config", str(config), *paths)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and "bot.toml" in err
    assert "Traceback" not in err


def test_a_missing_config_file_exits_2(
    capsys: pytest.CaptureFixture[str], paths: list[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "index", "--config", str(tmp_path / "nope.toml"), *paths)
    assert code == 2
    assert "nope.toml" in err


@pytest.mark.parametrize("rate", ["0", "26", "'fast'"])
def test_a_rate_limit_outside_telegrams_exits_2(
    capsys: pytest.CaptureFixture[str], paths: list[str], tmp_path: Path, rate: str
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f"[telegram]\nrequests_per_second = {rate}\n", encoding="utf-8")
    code, _, err = _run(capsys, "index", "--config", str(config), *paths)
    assert code == 2
    assert err.startswith("error: ") and "requests_per_second" in err


def test_forget_removes_one_persons_rows_and_says_how_many(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.answer import Answer
    from bot.questionlog import QuestionLog

    monkeypatch.delenv("BOT_LOG_SALT", raising=False)
    log_path = tmp_path / "data" / "questions.sqlite3"
    config = tmp_path / "bot.toml"
    config.write_text('[log]\npath = "data/questions.sqlite3"\n', encoding="utf-8")
    answer = Answer(query="q", answered=False, confidence=0.1)
    with QuestionLog(log_path) as log:  # its random salt is kept in the file, for the CLI
        for user, question, key in ((42, "mine", "k1"), (42, "mine too", "k2"),
                                    (43, "theirs", "k3")):
            log.record(question=question, answer=answer, chat_type="private", user_id=user,
                       answer_key=key)
        log.record_feedback(answer_key="k3", user_id=42, vote=-1)
        log.record_feedback(answer_key="k3", user_id=43, vote=1)
    code, out, err = _run(capsys, "forget", "--user-id", "42", "--config", str(config))
    assert (code, err) == (0, "")
    assert out == (f"removed 3 rows of user 42 from {log_path}: 2 questions, 1 vote,"
                   " 0 votes of others on their answers\n")
    with QuestionLog(log_path) as log:
        theirs = log.hash_user(43)
    conn = sqlite3.connect(log_path)
    try:
        assert conn.execute("SELECT question, user_hash FROM questions").fetchall() == [
            ("theirs", theirs)
        ]
        assert conn.execute("SELECT user_hash, vote FROM feedback").fetchall() == [(theirs, 1)]
    finally:
        conn.close()
    code, out, _ = _run(capsys, "forget", "--user-id", "42", "--config", str(config))
    assert code == 0 and out.startswith("removed 0 rows of user 42")


def test_forget_without_a_log_creates_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[log]\npath = "none/questions.sqlite3"\n', encoding="utf-8")
    code, out, _ = _run(capsys, "forget", "--user-id", "7", "--config", str(config))
    assert code == 0 and "nothing to forget" in out
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("argv", [["forget"], ["forget", "--user-id", "alice"]])
def test_forget_needs_a_numeric_user_id(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_a_negative_keep_days_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("[log]\nkeep_days = -7\n", encoding="utf-8")
    code, out, err = _run(capsys, "report", "--config", str(config))
    assert code == 2 and out == ""
    assert err == "error: log.keep_days must be 0 (keep everything) or 1-36500 days, not -7\n"
