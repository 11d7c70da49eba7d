"""The postings after a change to the library, made from the postings before it.

Why: inverting every sentence's keys again is a second at 100,000 sentences, most of what
adding one article cost. A change is the sentences gone (documents removed or changed, and the
sentences of a document re-read after an alias change) and the sentences come (new documents',
and the re-read ones under their old ids). A key that no gone or come sentence holds keeps its
postings byte for byte; only the others are filtered and extended. The per-sentence columns are
copied in runs between the changes. Each sentence's idf mass is summed again: the corpus size
and the document frequencies moved.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate

from bot.search.candidates import SentencePostings
from bot.search.packed import INT, Rows, ints
from bot.search.sentences import PackedSentence


def merged(
    old: SentencePostings,
    gone: Mapping[int, tuple[bytes, bytes]],
    come: Iterable[PackedSentence],
) -> SentencePostings:
    """`old` less the sentences `gone` (id -> the keys and context keys it was stored with),
    plus the sentences `come` (a re-read sentence is gone and comes again under its id)."""
    new_rows = sorted(come, key=lambda s: s.id)
    segments = list(_segments(old.ids, set(gone), [s.id for s in new_rows]))
    out = SentencePostings()
    kept = {d for a, b in segments if a >= 0 for d in set(old.doc[a:b])}
    for name in [d for i, d in enumerate(old.documents) if i in kept] + [
        s.document for s in new_rows
    ]:
        if name not in out._doc_index:  # a document gone altogether leaves the list
            out._doc_index[name] = len(out.documents)
            out.documents.append(name)
    _columns(out, old, new_rows, segments)
    out.keys = _rows(old.keys, [s.keys for s in new_rows], segments)
    out.sequence = _rows(old.sequence, [s.sequence for s in new_rows], segments)
    width = 1 + max(
        len(old.postings.offsets) - 2,
        max((max(ints(s.keys), default=-1) for s in new_rows), default=-1),
        max((max(ints(s.context), default=-1) for s in new_rows), default=-1),
    )
    gone_ids = set(gone)
    out.postings = _postings(
        old.postings, width, gone_ids, [k for k, _ in gone.values()],
        [(s.id, s.keys) for s in new_rows],
    )
    out.context = _postings(
        old.context, width, gone_ids, [c for _, c in gone.values()],
        [(s.id, s.context) for s in new_rows],
    )
    out.text_of = old.text_of
    out.find_positions()
    out.weigh()
    return out


# A segment of the merged columns: (start, end) of old positions kept, or (-1, j): come[j].
Segment = tuple[int, int]


def _segments(ids: Iterable[int], gone: set[int], come: list[int]) -> Iterator[Segment]:
    """The merged order, by id: runs of kept old positions, and the come sentences between."""
    j, start = 0, -1
    for i, sid in enumerate(ids):
        while j < len(come) and come[j] < sid:
            if start >= 0:
                yield start, i
                start = -1
            yield -1, j
            j += 1
        if sid in gone:
            if start >= 0:
                yield start, i
                start = -1
        elif start < 0:
            start = i
    if start >= 0:
        yield start, i + 1
    for k in range(j, len(come)):
        yield -1, k


def _columns(
    out: SentencePostings, old: SentencePostings, come: list[PackedSentence],
    segments: list[Segment],
) -> None:
    doc_map = array(INT, (out._doc_index.get(d, -1) for d in old.documents))
    for a, b in segments:
        if a < 0:
            s = come[b]
            out.ids.append(s.id)
            out.doc.append(out._doc_index[s.document])
            out.paragraph.append(s.paragraph)
            out.number.append(s.sentence)
            out.flags.append(s.flags)
            continue
        out.ids.frombytes(old.ids[a:b].tobytes())
        out.doc.extend(doc_map[d] for d in old.doc[a:b])
        out.paragraph.frombytes(old.paragraph[a:b].tobytes())
        out.number.frombytes(old.number[a:b].tobytes())
        out.flags.extend(bytes(old.flags[a:b]))


def _rows(old: Rows, come: list[bytes], segments: list[Segment]) -> Rows:
    """Per-sentence rows (keys, sequences) in the merged order."""
    off, values = old.offsets, old.values
    parts: list[bytes] = []
    lengths: list[int] = []
    for a, b in segments:
        if a < 0:
            parts.append(come[b])
            lengths.append(len(come[b]) // 4)
        else:
            parts.append(values[off[a] : off[b]].tobytes())
            lengths.extend(off[i + 1] - off[i] for i in range(a, b))
    return Rows(array(INT, accumulate(lengths, initial=0)), ints(b"".join(parts)))


def _postings(
    old: Rows, width: int, gone: set[int], gone_keys: list[bytes],
    come: list[tuple[int, bytes]],
) -> Rows:
    """Key -> sentence ids, the gone ids taken out and the come ids put in, in id order."""
    added: dict[int, list[int]] = {}
    for sid, keys in come:
        for k in ints(keys):
            added.setdefault(k, []).append(sid)
    touched = set(added)
    for keys in gone_keys:
        touched.update(ints(keys))
    off, values = old.offsets, old.values
    old_width = len(off) - 1
    parts: list[bytes] = []
    lengths: list[int] = []
    k = 0
    for t in [*sorted(touched), width]:
        end = min(t, old_width)
        if k < end:  # keys untouched: their postings as they were
            parts.append(values[off[k] : off[end]].tobytes())
            lengths.extend(off[i + 1] - off[i] for i in range(k, end))
        lengths.extend(0 for _ in range(max(k, old_width), t))  # new keys no one holds
        if t == width:
            break
        kept = [sid for sid in values[off[t] : off[t + 1]] if sid not in gone] if t < old_width \
            else []
        row = sorted(kept + added.get(t, []))
        parts.append(array(INT, row).tobytes())
        lengths.append(len(row))
        k = t + 1
    return Rows(array(INT, accumulate(lengths, initial=0)), ints(b"".join(parts)))
