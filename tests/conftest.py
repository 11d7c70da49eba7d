"""Shared fixtures: the real article, an engine on the real seeds, and tiny seed folders.

The real seeds are copied before building because faq.toml and aliases.toml may be edited while
the tests run; a snapshot keeps one session consistent.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.index import build
from bot.search import Engine

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
ARTICLE_NAME = "mint-2024-12-syria-opposition-homs"

MakeSeeds = Callable[[Path, dict[str, str | bytes]], Path]


@pytest.fixture(scope="session")
def article_path() -> Path:
    """The real article, read directly (never a copy) so its segmentation is what ships."""
    return SEEDS / f"{ARTICLE_NAME}.txt"


@pytest.fixture(scope="session")
def real_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of seeds/ taken once, so concurrent edits cannot change it mid-session."""
    dest = tmp_path_factory.mktemp("real") / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture(scope="session")
def engine(real_seeds: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The engine on the real seeds: built once, because building and loading take a while."""
    db = tmp_path_factory.mktemp("db") / "index.sqlite3"
    build(real_seeds, db)
    return Engine(db)


def _write_seeds(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def make_seeds() -> MakeSeeds:
    """Write (or overwrite) files in `<tmp_path>/seeds` and return that folder.

    Calling it again with the same tmp_path updates the same folder, which is how the tests
    change a seed between two builds. Bytes are written as they are (for bad encodings).
    """
    return _write_seeds
