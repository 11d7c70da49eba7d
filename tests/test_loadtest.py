"""`python -m bot loadtest` needs a checkout (its fake Bot API lives in tests/fakes/): an
installed copy says so in one line, and runs with a checkout named by $DOCBOT_CHECKOUT."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import loadtest
from bot.__main__ import main
from tests.conftest import ROOT


def installed_copy(tmp_path: Path, stray_tests: bool) -> Path:
    """The package alone in a site folder, as pip installs it; with `stray_tests`, beside a
    `tests` package some other distribution installed (it happens), which has no fakes."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "bot", site / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    if stray_tests:
        (site / "tests").mkdir()
        (site / "tests" / "__init__.py").write_text("", encoding="utf-8")
    return site


def run_installed(site: Path, tmp_path: Path, *args: str, checkout: Path | None = None):
    work = tmp_path / "work"  # no tests/ here either
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != loadtest.CHECKOUT_ENV}
    env["PYTHONPATH"] = str(site)
    if checkout is not None:
        env[loadtest.CHECKOUT_ENV] = str(checkout)
    return subprocess.run(
        [sys.executable, "-m", "bot", "loadtest", *args, "--seeds", str(ROOT / "seeds"),
         "--db", str(tmp_path / "index.sqlite3")],
        cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize("stray_tests", [False, True])
def test_an_installed_copy_says_in_one_line_that_it_needs_a_checkout(
    tmp_path: Path, stray_tests: bool
) -> None:
    site = installed_copy(tmp_path, stray_tests)
    done = run_installed(site, tmp_path, "--updates", "10")
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    # the installed copy ran (its own path is named), and the way out is in the line
    assert line.startswith(f"error: the load test needs the fake Bot API in {site}/tests/fakes")
    assert "checkout" in line and loadtest.CHECKOUT_ENV in line


def test_an_installed_copy_uses_the_checkout_it_is_given(tmp_path: Path) -> None:
    """With $DOCBOT_CHECKOUT the fake is found: the run gets as far as checking its arguments."""
    site = installed_copy(tmp_path, stray_tests=True)
    done = run_installed(site, tmp_path, "--users", "0", checkout=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --updates and --users must be at least 1, --rate not negative"
    )


def test_without_api_json_the_loadtest_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = loadtest.fake_bot_api()

    def missing() -> Path:
        raise FileNotFoundError("api.json not found; set TELEGRAM_API_JSON")

    monkeypatch.setattr(module, "_api_json_path", missing)
    module.ApiSpec.load.cache_clear()
    try:
        assert main(["loadtest", "--updates", "10"]) == 2
    finally:
        module.ApiSpec.load.cache_clear()
    assert capsys.readouterr().err.splitlines() == [
        "error: the fake Bot API cannot validate requests: api.json not found; set "
        "TELEGRAM_API_JSON"
    ]
