"""Packed integer tables: what the index stores of its analysis, and the engine maps back in.

Why arrays and not Python dicts of lists: a library of 100,000 sentences has about 1.2 million
(key, sentence) postings. As lists of int objects they cost ~90 MB and seconds to rebuild at
every start; as one array of 32-bit ints and one of offsets they are 5 MB, stored as two blobs,
and read back in milliseconds. A row of a table (a key's sentences, a sentence's keys) is then
a slice.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate

INT = "i"  # 32-bit signed: sentence ids and key ids stay far below 2**31
SEPARATOR = -1  # between two concepts of a sentence's sequence


class Rows(Mapping[int, array]):
    """Rows of integers numbered 0..n-1, as one array of values and one of offsets
    (a compressed sparse row table). Row i is values[offsets[i]:offsets[i + 1]]."""

    __slots__ = ("offsets", "values")

    def __init__(self, offsets: array, values: array) -> None:
        self.offsets = offsets
        self.values = values

    @classmethod
    def build(cls, rows: Iterable[Iterable[int]]) -> Rows:
        offsets, values = array(INT, [0]), array(INT)
        for row in rows:
            values.extend(row)
            offsets.append(len(values))
        return cls(offsets, values)

    @classmethod
    def join(cls, rows: list[bytes]) -> Rows:
        """Rows stored each as bytes of 32-bit ints, joined without unpacking them."""
        offsets = array(INT, [0])
        offsets.extend(accumulate(len(r) // 4 for r in rows))
        return cls(offsets, ints(b"".join(rows)))

    def rows(self) -> Iterator[array]:
        """Every row in order, empty ones too."""
        off, values = self.offsets, self.values
        for i in range(len(off) - 1):
            yield values[off[i] : off[i + 1]]

    def inverted(self, width: int) -> Rows:
        """Row k of the result lists, in order, the i of every row i holding k (k < width):
        postings from each item's keys."""
        counts = [0] * (width + 1)
        for k in self.values:
            counts[k + 1] += 1
        for k in range(width):
            counts[k + 1] += counts[k]
        offsets = array(INT, counts)
        values = array(INT, bytes(4 * counts[width]))
        fill = counts[:-1]
        for i, row in enumerate(self.rows()):
            for k in row:
                values[fill[k]] = i
                fill[k] += 1
        return Rows(offsets, values)

    def get(self, key: object, default: object = None) -> array | None:  # type: ignore[override]
        if type(key) is not int or not 0 <= key < len(self.offsets) - 1:
            return default  # type: ignore[return-value]
        a, b = self.offsets[key], self.offsets[key + 1]
        return self.values[a:b] if b > a else default  # type: ignore[return-value]

    def size(self, key: object) -> int:
        """The length of a row, without copying it."""
        if type(key) is not int or not 0 <= key < len(self.offsets) - 1:
            return 0
        return self.offsets[key + 1] - self.offsets[key]

    def holds(self, row: int, value: int) -> bool:
        """Whether a row, its values sorted, holds the value: a binary search in place, no
        copy (the shortlist asks it of hundreds of sentences per question)."""
        a, b = self.offsets[row], self.offsets[row + 1]
        i = bisect_left(self.values, value, a, b)
        return i < b and self.values[i] == value

    def __getitem__(self, key: int) -> array:
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row

    def __contains__(self, key: object) -> bool:
        return self.size(key) > 0

    def __iter__(self) -> Iterator[int]:
        return (k for k in range(len(self.offsets) - 1) if self.size(k))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def to_bytes(self) -> tuple[bytes, bytes]:
        return self.offsets.tobytes(), self.values.tobytes()

    @classmethod
    def from_bytes(cls, offsets: bytes, values: bytes) -> Rows:
        """Rows over stored bytes, read in place (no copy: a library's postings are tens of
        megabytes)."""
        return cls(view(offsets), view(values))  # type: ignore[arg-type]


def ints(data: bytes) -> array:
    """A stored row as an array of its own, for a build to carry over."""
    out = array(INT)
    out.frombytes(data)
    return out


def view(data: bytes, kind: str = INT) -> memoryview:
    """Stored numbers read in place: indexing, slicing and iterating as an array does."""
    return memoryview(data).cast(kind)


def encode_sequence(concepts: Iterable[Iterable[int]]) -> list[int]:
    """Concepts' keys in text order, SEPARATOR between two concepts."""
    out: list[int] = []
    for keys in concepts:
        if out:
            out.append(SEPARATOR)
        out.extend(sorted(keys))
    return out


def decode_sequence(values: Iterable[int]) -> list[frozenset[int]]:
    out: list[frozenset[int]] = []
    current: list[int] = []
    for v in values:
        if v == SEPARATOR:
            out.append(frozenset(current))
            current = []
        else:
            current.append(v)
    if current:
        out.append(frozenset(current))
    return out
