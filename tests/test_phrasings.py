"""bot.search.phrasings: which FAQ phrasings and entries hold a question's concepts, both ways."""

from __future__ import annotations

from bot.search.analysis import Concept, Key
from bot.search.phrasings import Phrasing, PhrasingPostings


def _concept(exact: Key) -> Concept:
    return Concept(frozenset({exact}), exact, 0, 0, (str(exact),))


def test_faq_candidates_cover_both_ways_and_group_by_entry() -> None:
    a1, a2, b3 = _concept(1), _concept(2), _concept(3)
    p = PhrasingPostings()
    for faq, cs, ws in (("a", [a1], [1.0]), ("a", [a2], [1.0]), ("b", [a1, b3], [1.0, 3.0])):
        keys = frozenset(k for c in cs for k in c.keys)
        p.add(Phrasing(faq, cs, keys, ws, sum(ws), frozenset(), ""))
    p.finish()
    found = p.candidates([a1, a2], [1.0, 1.0])
    assert found.q_cov == {0: 1.0, 1: 1.0, 2: 1.0}
    assert found.e_cov == {"a": 2.0, "b": 1.0}  # entry "a" holds both words, in two phrasings
    assert found.t_cov == {0: 1.0, 1: 1.0, 2: 1.0}  # of phrasing 2, only "1" was asked
    assert found.groups == {"a": [0, 1], "b": [2]}
