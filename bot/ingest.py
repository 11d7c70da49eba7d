"""Read seeds/: documents and their metadata, paragraphs, sentences, FAQ entries and aliases.

Everything here is generic: a document is any `*.txt` in the seeds folder, with an optional
`<same name>.toml` beside it for its metadata. Curated data lives in `faq.toml` / `*.faq.toml`
and `aliases.toml` / `*.aliases.toml`. Problems are raised as SeedError naming file and line.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysbd

from bot.text import normalise

# Site furniture that news pages append after the story. Only trailing paragraphs are tested,
# so a sentence in the body that happens to say "subscribe" is never dropped.
FOOTER_PATTERNS: tuple[str, ...] = (
    r"\bcatch all the\b.*\bnews\b",
    r"\bdownload (the|our)\b.*\bapp\b",
    r"\bsubscribe (to|now)\b",
    r"\bfollow us on\b",
    r"\bsign up for\b.*\bnewsletter",
    r"\ball rights reserved\b",
    r"^(read more|also read|related)\b",
    r"^\W*(©|copyright\b)",
)

ID_RE = re.compile(r"^[a-z0-9_]{1,40}$")


class SeedError(Exception):
    """A problem in a seed file, told as `path:line: message`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Sentence:
    paragraph: int
    number: int  # 1-based within its paragraph
    start: int  # character offsets into the source file
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    number: int
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Document:
    id: str
    path: Path
    title: str
    publisher: str = ""
    date: str = ""
    language: str = "en"
    url: str = ""
    paragraphs: list[Paragraph] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    hash: str = ""  # content_hash of its text and metadata: an unchanged document is not re-split
    split: bool = True  # False when its paragraphs and sentences came from a previous build


# The paragraphs and sentences a previous build made of a document with this id and content hash,
# or None: how an incremental build skips sentence splitting (the slow part) for what is unchanged.
Stored = Callable[[str, str], tuple[list[Paragraph], list[Sentence]] | None]


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    question: str
    phrasings: tuple[str, ...]
    answer: str
    cites: tuple[str, ...]
    path: str
    line: int
    cite_lines: tuple[int, ...] = ()  # the line of each cite, 0 where it could not be told

    def cite_line(self, n: int) -> int:
        """The line of the n-th cite, else the entry's own (its [[faq]] header)."""
        return (self.cite_lines[n] if n < len(self.cite_lines) else 0) or self.line


@dataclass(frozen=True, slots=True)
class AliasGroup:
    kind: str  # "alias" (names of one thing) or "synonym" (words of one meaning)
    terms: tuple[str, ...]


@dataclass(slots=True)
class Seeds:
    documents: list[Document]
    faq: list[FaqEntry]
    aliases: list[AliasGroup]


def _toml_line(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SeedError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(path, _toml_line(str(exc)), f"malformed TOML: {exc}") from exc


def _header_lines(path: Path, table: str) -> list[int]:
    """Line numbers of each `[[table]]` header, so entry N's errors can point at it."""
    header = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [i + 1 for i, ln in enumerate(lines) if header.match(ln)]


_CITES_KEY = re.compile(r"^[ \t]*cites[ \t]*=", re.M)


def _cite_lines(source: str, first: int, last: int | None, cites: Sequence[str]) -> tuple[int, ...]:
    """The line of each cite of the entry on lines first..last (exclusive, 1-based), so an error
    about one cite can point at it: each quote is looked for as written or TOML-escaped, after
    the `cites` key and the cite before it. 0 where it is not found (a multi-line string)."""
    chunk = source.splitlines(keepends=True)[first - 1 : last - 1 if last else None]
    starts = list(itertools.accumulate((len(ln) for ln in chunk), initial=0))
    block = "".join(chunk)
    key = _CITES_KEY.search(block)
    pos = key.end() if key else 0
    out = []
    for quote in cites:
        forms = {quote, json.dumps(quote, ensure_ascii=False)[1:-1]}
        hits = [(at, len(f)) for f in forms if (at := block.find(f, pos)) >= 0]
        if not hits:
            out.append(0)
            continue
        at, length = min(hits)
        out.append(first + bisect.bisect_right(starts, at) - 1)
        pos = at + length
    return tuple(out)


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Blocks separated by blank lines; a text without blank lines has one paragraph a line."""
    sep = r"\n[ \t\r\f\v]*\n" if re.search(r"\n[ \t\r\f\v]*\n", text) else r"\n"
    spans, pos = [], 0
    for m in re.finditer(sep, text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        chunk = text[s:e]
        if not chunk.strip():
            continue
        lead = len(chunk) - len(chunk.lstrip())
        out.append((s + lead, s + len(chunk.rstrip())))
    return out


def _is_footer(paragraph: str, patterns: list[re.Pattern[str]]) -> bool:
    norm = normalise(paragraph)
    return any(p.search(norm) for p in patterns)


_segmenters: dict[str, pysbd.Segmenter] = {}


def split_sentences(text: str, language: str = "en") -> list[tuple[int, int]]:
    """Sentence spans of one paragraph, by pysbd; offsets found in the text, never recomputed."""
    lang = language if language in pysbd.languages.LANGUAGE_CODES else "en"
    seg = _segmenters.get(lang)
    if seg is None:
        seg = _segmenters[lang] = pysbd.Segmenter(language=lang, clean=False)
    spans, pos = [], 0
    for piece in seg.segment(text):
        piece = piece.strip()
        if not piece:
            continue
        start = text.find(piece, pos)
        if start < 0:  # pysbd altered the text; fall back to the rest of the paragraph
            start = pos
            piece = text[pos:].strip()
        spans.append((start, start + len(piece)))
        pos = start + len(piece)
    return _join_false_breaks(text, spans)


def _join_false_breaks(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Mend pysbd's breaks inside a word: a sentence really ends before white space, so a break
    with none after it (".gz", "file.tar") or before a lower-case ". z" goes back together."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out:
            prev_start, prev_end = out[-1]
            glued = prev_end < len(text) and not text[prev_end].isspace()
            if glued or text[prev_start:prev_end].endswith(" ."):
                out[-1] = (prev_start, end)
                continue
        out.append((start, end))
    return out


def _title_from(text: str, path: Path) -> str:
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    if first and len(first) <= 120 and not re.search(r"[.!?]$", first):
        return first
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize()


def content_hash(text: str, meta: bytes | None) -> str:
    """What a document's split depends on: its text, its metadata file (title, language,
    boilerplate) and the splitter's version, so that upgrading pysbd re-splits everything."""
    h = hashlib.sha256(f"pysbd {pysbd.__version__}\0".encode())
    h.update(text.encode("utf-8") + b"\0")
    h.update(b"no meta" if meta is None else b"meta\0" + meta)
    return h.hexdigest()


def read_document(path: Path, stored: Stored | None = None) -> Document:
    """Read, check and split one document; `stored` supplies the split of an unchanged one."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise SeedError(path, line, f"not UTF-8 text ({exc.reason})") from exc
    if not text.strip():
        raise SeedError(path, None, "the document is empty")
    meta_path = path.with_suffix(".toml")
    meta = load_toml(meta_path) if meta_path.exists() else {}
    digest = content_hash(text, meta_path.read_bytes() if meta_path.exists() else None)
    for key in ("title", "publisher", "date", "language", "url"):
        if key in meta and not isinstance(meta[key], str):
            raise SeedError(meta_path, None, f"'{key}' must be a string")
    extra = meta.get("boilerplate", [])
    if not isinstance(extra, list) or not all(isinstance(p, str) for p in extra):
        raise SeedError(meta_path, None, "'boilerplate' must be a list of regular expressions")
    try:
        patterns = [re.compile(p) for p in (*FOOTER_PATTERNS, *extra)]
    except re.error as exc:
        raise SeedError(meta_path, None, f"bad boilerplate pattern: {exc}") from exc

    doc = Document(
        id=path.stem,
        path=path,
        title=meta.get("title") or _title_from(text, path),
        publisher=meta.get("publisher", ""),
        date=meta.get("date", ""),
        language=meta.get("language", "en"),
        url=meta.get("url", ""),
        hash=digest,
    )
    known = stored(doc.id, digest) if stored is not None else None
    if known is not None:
        doc.paragraphs, doc.sentences = known
        doc.split = False
        return doc
    spans = _paragraph_spans(text)
    while spans and _is_footer(text[spans[-1][0] : spans[-1][1]], patterns):
        spans.pop()
    for pnum, (ps, pe) in enumerate(spans, start=1):
        ptext = text[ps:pe]
        doc.paragraphs.append(Paragraph(pnum, ps, pe, ptext))
        for snum, (ss, se) in enumerate(split_sentences(ptext, doc.language), start=1):
            doc.sentences.append(Sentence(pnum, snum, ps + ss, ps + se, text[ps + ss : ps + se]))
    if not doc.sentences:
        raise SeedError(path, None, "no sentences left after removing boilerplate")
    return doc


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def read_faq(path: Path) -> list[FaqEntry]:
    data = load_toml(path)
    entries = data.get("faq", [])
    if not isinstance(entries, list):
        raise SeedError(path, None, "expected [[faq]] tables")
    lines = _header_lines(path, "faq")
    source = path.read_text(encoding="utf-8")
    out = []
    for i, raw in enumerate(entries):
        line = lines[i] if i < len(lines) else None
        if not isinstance(raw, dict):
            raise SeedError(path, line, "an [[faq]] entry must be a table")
        eid = raw.get("id")
        label = f"FAQ entry {eid!r}" if isinstance(eid, str) else f"FAQ entry #{i + 1}"
        if not isinstance(eid, str) or not ID_RE.match(eid):
            raise SeedError(path, line, f"{label}: 'id' must be 1-40 characters of a-z 0-9 _")
        # `faq suggest` drafts an entry with its cites but no answer: only the editor can write
        # one the cites support, so the build refuses the entry until the mark is removed.
        if raw.get("draft", False) is not False:
            if raw["draft"] is True:
                raise SeedError(path, line, f"{label} is a draft (draft = true): write its "
                                "answer from its cites, then remove the draft line")
            raise SeedError(path, line, f"{label}: 'draft' must be true or false")
        for key in ("question", "answer"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise SeedError(path, line, f"{label}: '{key}' must be a non-empty string")
        for key in ("phrasings", "cites"):
            if not _str_list(raw.get(key, [])):
                raise SeedError(path, line, f"{label}: '{key}' must be a list of strings")
        if not raw.get("cites"):
            raise SeedError(path, line, f"{label}: 'cites' needs at least one quote")
        unknown = set(raw) - {"id", "question", "phrasings", "answer", "cites", "draft"}
        if unknown:
            raise SeedError(path, line, f"{label}: unknown key(s) {', '.join(sorted(unknown))}")
        out.append(
            FaqEntry(
                id=eid,
                question=raw["question"].strip(),
                phrasings=tuple(p.strip() for p in raw.get("phrasings", [])),
                answer=raw["answer"].strip(),
                cites=tuple(raw["cites"]),
                path=str(path),
                line=line or 0,
                cite_lines=(
                    _cite_lines(source, line, lines[i + 1] if i + 1 < len(lines) else None,
                                raw["cites"])
                    if line
                    else ()
                ),
            )
        )
    return out


def read_aliases(path: Path) -> list[AliasGroup]:
    data = load_toml(path)
    out = []
    for kind in ("alias", "synonym"):
        groups = data.get(kind, [])
        lines = _header_lines(path, kind)
        for i, raw in enumerate(groups if isinstance(groups, list) else [groups]):
            line = lines[i] if i < len(lines) else None
            terms = raw.get("terms") if isinstance(raw, dict) else None
            if not _str_list(terms) or len(terms) < 2:
                raise SeedError(path, line, f"[[{kind}]] needs 'terms': at least two strings")
            out.append(AliasGroup(kind, tuple(t.strip() for t in terms)))
    unknown = set(data) - {"alias", "synonym"}
    if unknown:
        raise SeedError(path, None, f"unknown table(s) {', '.join(sorted(unknown))}")
    return out


def is_curated(p: Path) -> bool:
    """A FAQ or alias file: what an editor wrote, as opposed to the documents themselves."""
    return _is_faq(p) or _is_aliases(p)


def _is_faq(p: Path) -> bool:
    return p.name == "faq.toml" or p.name.endswith(".faq.toml")


def _is_aliases(p: Path) -> bool:
    return p.name == "aliases.toml" or p.name.endswith(".aliases.toml")


def seed_files(seeds_dir: Path) -> list[Path]:
    """Every file the index depends on, in a stable order (for the content hash)."""
    if not seeds_dir.is_dir():
        raise SeedError(seeds_dir, None, "seeds folder not found")
    return sorted(p for p in seeds_dir.iterdir() if p.suffix in {".txt", ".toml"} and p.is_file())


def read_seeds(seeds_dir: Path, stored: Stored | None = None) -> Seeds:
    """Everything in the seeds folder, checked; `stored` lets unchanged documents skip splitting."""
    files = seed_files(seeds_dir)
    texts = [p for p in files if p.suffix == ".txt"]
    if not texts:
        raise SeedError(seeds_dir, None, "no documents (*.txt) in the seeds folder")
    documents = [read_document(p, stored) for p in texts]
    faq = [e for p in files if _is_faq(p) for e in read_faq(p)]
    seen: dict[str, FaqEntry] = {}
    for e in faq:
        if e.id in seen:
            raise SeedError(e.path, e.line, f"FAQ id {e.id!r} is used twice")
        seen[e.id] = e
    aliases = [g for p in files if _is_aliases(p) for g in read_aliases(p)]
    return Seeds(documents, faq, aliases)
