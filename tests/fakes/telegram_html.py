"""Telegram's HTML parse mode, re-implemented so the fake Bot API rejects what Telegram rejects.

Modelled on tdlib's ``parse_html`` (same tag set, same error wording and byte offsets for the
errors Telegram reports), but deliberately stricter where Telegram's documentation asks for
something its parser tolerates: a bare ``&``, an unknown named entity such as ``&nbsp;``, tags
inside ``pre``/``code`` and nested blockquotes are errors here. A bot that passes this parser
therefore also passes Telegram's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALLOWED_TAGS",
    "HtmlParseError",
    "ParsedHtml",
    "parse_html",
    "utf16_len",
]

# Tag name -> entity type emitted when the tag is closed ("" = decided from attributes).
ALLOWED_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,8})|([A-Za-z][A-Za-z0-9]*));")
_UNQUOTED_VALUE_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
)


class HtmlParseError(ValueError):
    """Markup Telegram would refuse; ``str(err)`` is the part after "can't parse entities: "."""


@dataclass(frozen=True)
class ParsedHtml:
    """What Telegram would store: the visible text and its entities (offsets in UTF-16)."""

    text: str
    entities: tuple[dict[str, Any], ...] = ()

    @property
    def entity_count(self) -> int:
        """Entities count against Telegram's limit of 100 per message."""
        return len(self.entities)


@dataclass
class _OpenTag:
    name: str
    byte_start: int
    utf16_start: int
    text_start: int
    attrs: dict[str, str | None] = field(default_factory=dict)
    has_code_child: bool = False
    language: str | None = None


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(markup: str, index: int) -> int:
    return len(markup[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(markup: str, index: int) -> tuple[str, int]:
    """Decode the character reference at ``markup[index] == "&"``; strict about what is allowed."""
    match = _ENTITY_RE.match(markup, index)
    where = f"at byte offset {_byte_offset(markup, index)}"
    if match is None:
        raise HtmlParseError(f'Character "&" {where} must be escaped as "&amp;"')
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in _NAMED_ENTITIES:
            raise HtmlParseError(
                f'Unsupported HTML entity "{match.group(0)}" {where}; '
                "only &lt; &gt; &amp; &quot; and numeric entities are allowed"
            )
        return _NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(f'Invalid HTML entity "{match.group(0)}" {where}')
    return chr(code), match.end()


def _skip_spaces(markup: str, index: int) -> int:
    while index < len(markup) and markup[index].isspace():
        index += 1
    return index


def _parse_attributes(markup: str, index: int, tag: str, tag_byte: int) -> tuple[dict, int]:
    """Read attributes up to and including ">"; returns them and the index after ">"."""
    attrs: dict[str, str | None] = {}
    size = len(markup)
    unclosed = f'Unclosed start tag "{tag}" at byte offset {tag_byte}'
    while True:
        index = _skip_spaces(markup, index)
        if index >= size:
            raise HtmlParseError(unclosed)
        if markup[index] == ">":
            return attrs, index + 1
        name_start = index
        while index < size and not markup[index].isspace() and markup[index] not in "=>/\"'":
            index += 1
        name = markup[name_start:index].lower()
        if not name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {tag_byte}'
            )
        index = _skip_spaces(markup, index)
        if index >= size:
            raise HtmlParseError(unclosed)
        if markup[index] != "=":
            attrs[name] = None
            continue
        index = _skip_spaces(markup, index + 1)
        if index >= size:
            raise HtmlParseError(unclosed)
        if markup[index] in "\"'":
            quote = markup[index]
            index += 1
            value: list[str] = []
            while index < size and markup[index] != quote:
                if markup[index] == "&":
                    decoded, index = _decode_entity(markup, index)
                    value.append(decoded)
                else:
                    value.append(markup[index])
                    index += 1
            if index >= size:
                raise HtmlParseError(unclosed)
            attrs[name] = "".join(value)
            index += 1
        else:
            value_start = index
            while index < size and markup[index] in _UNQUOTED_VALUE_CHARS:
                index += 1
            if index >= size:
                raise HtmlParseError(unclosed)
            if not markup[index].isspace() and markup[index] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(markup, index)}"
                )
            attrs[name] = markup[value_start:index].lower()


def _check_nesting(stack: list[_OpenTag], tag: str, tag_byte: int) -> None:
    """Telegram drops or refuses markup inside code blocks and nested quotes; refuse it here."""
    where = f"at byte offset {tag_byte}"
    for open_tag in stack:
        if open_tag.name == "code":
            raise HtmlParseError(f'Tag "{tag}" is not allowed inside "code" {where}')
        if open_tag.name == "blockquote" and tag == "blockquote":
            raise HtmlParseError(f"Blockquotes can't be nested {where}")
    pre = next((t for t in stack if t.name == "pre"), None)
    if pre is None:
        return
    if tag != "code" or stack[-1] is not pre or pre.has_code_child:
        raise HtmlParseError(
            f'Tag "{tag}" is not allowed inside "pre" {where}; '
            'only one <code class="language-..."> may be'
        )
    pre.has_code_child = True


def _open_tag(
    stack: list[_OpenTag], tag: str, attrs: dict, tag_byte: int, utf16: int, pos: int
) -> None:
    where = f"at byte offset {tag_byte}"
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {where}')
    if tag == "tg-emoji":
        emoji_id = attrs.get("emoji-id")
        if not emoji_id or not emoji_id.isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
    _check_nesting(stack, tag, tag_byte)
    stack.append(_OpenTag(tag, tag_byte, utf16, pos, attrs))


def _close_tag(open_tag: _OpenTag, stack: list[_OpenTag], text: list[str], utf16: int) -> dict:
    """The entity an open tag produces once closed (``{}`` for a code block inside ``pre``)."""
    length = utf16 - open_tag.utf16_start
    kind = ALLOWED_TAGS[open_tag.name]
    entity: dict[str, Any] = {"type": kind, "offset": open_tag.utf16_start, "length": length}
    attrs = open_tag.attrs
    if open_tag.name == "a":
        href = attrs.get("href")
        entity["url"] = href if href else "".join(text[open_tag.text_start :])
    elif open_tag.name == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif open_tag.name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif open_tag.name == "code":
        css = attrs.get("class") or ""
        language = css.removeprefix("language-") if css.startswith("language-") else None
        if stack and stack[-1].name == "pre":
            stack[-1].language = language
            return {}
        if language:
            entity["language"] = language
    elif open_tag.name == "pre" and open_tag.language:
        entity["language"] = open_tag.language
    return entity if length > 0 else {}


def parse_html(markup: str) -> ParsedHtml:
    """Parse ``parse_mode=HTML`` text; raise :class:`HtmlParseError` where Telegram would refuse.

    The visible text is returned as is (Telegram later trims surrounding whitespace; the fake
    does that when it builds a Message).
    """
    text: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_OpenTag] = []
    utf16 = 0
    index = 0
    size = len(markup)
    while index < size:
        char = markup[index]
        if char == "&":
            decoded, index = _decode_entity(markup, index)
            text.append(decoded)
            utf16 += utf16_len(decoded)
            continue
        if char != "<":
            text.append(char)
            utf16 += 2 if ord(char) > 0xFFFF else 1
            index += 1
            continue
        tag_byte = _byte_offset(markup, index)
        index += 1
        if index < size and markup[index] == "/":
            name_start = index + 1
            index = name_start
            while index < size and not markup[index].isspace() and markup[index] != ">":
                index += 1
            end_name = markup[name_start:index].lower()
            index = _skip_spaces(markup, index)
            if index >= size or markup[index] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {tag_byte}")
            index += 1
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {tag_byte}")
            open_tag = stack.pop()
            if end_name and end_name != open_tag.name:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {tag_byte}, expected "</{open_tag.name}>",'
                    f' found "</{end_name}>"'
                )
            entity = _close_tag(open_tag, stack, text, utf16)
            if entity:
                entities.append(entity)
            continue
        name_start = index
        while index < size and not markup[index].isspace() and markup[index] != ">":
            index += 1
        if index >= size:
            raise HtmlParseError(f"Unclosed start tag at byte offset {tag_byte}")
        tag = markup[name_start:index].lower()
        if tag not in ALLOWED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {tag_byte}')
        attrs, index = _parse_attributes(markup, index, tag, tag_byte)
        _open_tag(stack, tag, attrs, tag_byte, utf16, len(text))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedHtml("".join(text), tuple(entities))
