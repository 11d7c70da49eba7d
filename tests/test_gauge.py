"""bot.search.gauge: what an answer's confidence is read from, read off the index: how much of
the question the best sentence holds, what of it the index never names, how the FAQ fell
short."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.index import build
from bot.search import Engine, Settings
from bot.search.confidence import FEATURES, HELD_RARE
from tests.conftest import MakeSeeds

RAW = Settings(threshold=0.0, calibration=None)
RIVER = (
    "The river Vell flows through the town of Norwick.\n\n"
    "The river is wide near the town.\n\n"
    "The town built a weir of larch beams in 1840.\n\n"
    "The river floods the town in spring.\n"
)


def _feature(answer_evidence: tuple[float, ...], name: str) -> float:
    return answer_evidence[FEATURES.index(name)]


def test_unknown_is_the_share_of_the_question_the_index_never_names(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    engine = Engine(build(make_seeds(tmp_path, {"river.txt": RIVER}), tmp_path / "i"), RAW)
    assert _feature(engine.ask("when was the weir built").evidence, "unknown") == 0.0
    half = _feature(engine.ask("weir pelicans").evidence, "unknown")
    most = _feature(engine.ask("weir pelicans flamingos").evidence, "unknown")
    assert 0.3 < half < most < 1.0


QUAY = (
    "The quay and the market were busy.\n\n"
    "The quay and the market were closed.\n\n"
    "The kelp harvest failed.\n\n"
    "The harbour flooded.\n"
)


def test_held_and_rarest_count_in_the_questions_rarest_known_concept(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    """"kelp" is in one sentence, "quay" and "market" in two: a sentence holding both of those
    outscores the kelp one, but holds none of the question's rarest word."""
    engine = Engine(build(make_seeds(tmp_path, {"quay.txt": QUAY}), tmp_path / "i"), RAW)
    rare = engine.ask("kelp harvest")
    assert rare.excerpts[0].text.startswith("The kelp")
    assert _feature(rare.evidence, "rarest") == pytest.approx(1.0)
    assert _feature(rare.evidence, "held") == pytest.approx(2 / HELD_RARE)
    common = engine.ask("kelp quay market")
    assert common.excerpts[0].text.startswith("The quay")
    assert 0.2 < _feature(common.evidence, "rarest") < 0.9
    assert 0.0 < _feature(common.evidence, "held") < _feature(rare.evidence, "held")
    # A word the documents never use sets no scale: "pelicans" is left out.
    assert _feature(engine.ask("kelp harvest pelicans").evidence, "rarest") == pytest.approx(1.0)



def test_faq_short_is_how_far_a_documents_faq_falls_short_and_0_without_one(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    faq = (
        '[[faq]]\nid = "weir"\nquestion = "When was the weir built?"\n'
        'answer = "In 1840."\ncites = ["built a weir of larch beams in 1840"]\n'
    )
    bare = Engine(build(make_seeds(tmp_path / "a", {"river.txt": RIVER}), tmp_path / "a.db"), RAW)
    harbour = "Divers found an oil leak near the lighthouse of Kelby.\n"
    seeds = make_seeds(
        tmp_path / "b", {"river.txt": RIVER, "harbour.txt": harbour, "faq.toml": faq}
    )
    curated = Engine(build(seeds, tmp_path / "b.db"), RAW)
    # A document no FAQ entry cites is as good as uncurated: a library may curate only some.
    found = curated.ask("what did divers find near the lighthouse")
    assert found.excerpts[0].document == "harbour"
    assert _feature(found.evidence, "faq_short") == 0.0
    assert _feature(bare.ask("when was the weir built").evidence, "faq_short") == 0.0
    assert _feature(bare.ask("does the river flood").evidence, "faq_short") == 0.0
    matched = _feature(curated.ask("when was the weir built").evidence, "faq_short")
    missed = _feature(curated.ask("does the river flood").evidence, "faq_short")
    assert -0.1 <= matched < 0.2 and missed > 0.8
