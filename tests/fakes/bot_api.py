"""A fake Telegram Bot API server for end-to-end tests of a python-telegram-bot bot.

Why a fake and not mocks: the bot talks HTTP to it exactly as it would to Telegram, so PTB's own
serialisation, error mapping, polling and webhook code run for real, and every request is checked
against the Bot API spec (``api.json``) and the limits Telegram enforces. Anything Telegram would
reject comes back as the same HTTP error with Telegram's wording, and is recorded in
:attr:`FakeBotApi.errors` so a test can assert the bot never sent it.

Usage::

    async with FakeBotApi() as fake:
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        ...
        fake.push_message("/start")
        [call] = await fake.wait_for("sendMessage")

The server is a small HTTP/1.1 keep-alive handler on ``asyncio.start_server`` running in the
test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.parser
import email.policy
import functools
import http
import itertools
import json
import math
import os
import re
import time
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from .telegram_html import HtmlParseError, ParsedHtml, parse_html, utf16_len

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "ApiError",
    "ApiSpec",
    "Call",
    "FakeBotApi",
    "UploadedFile",
    "check_caption",
    "check_inline_keyboard",
    "check_message_text",
    "fake_bot_api_fixture",
]

DEFAULT_TOKEN = "123456789:AAF4keT0kenForEndToEndTests-0123456789"
DEFAULT_USER_ID = 1001
DEFAULT_GROUP_ID = -4001234567
DEFAULT_SUPERGROUP_ID = -1001234567890
DEFAULT_CHANNEL_ID = -1009876543210

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ENTITIES = 100
MAX_INLINE_RESULTS = 50
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100

# Update kinds Telegram leaves out unless allowed_updates asks for them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_FAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BUTTON_NON_ACTION_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style"})
_AUTO_ENTITY_RES = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}")),
    ("url", re.compile(r"\bhttps?://[^\s<>]+")),
)


# --------------------------------------------------------------------------------------------
# Errors, records
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API; raised anywhere while handling a request."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram sends with this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    """A file part of a multipart request (the bot uploaded a document, photo, ...)."""

    name: str
    filename: str | None
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        """Byte size, for assertions on what was uploaded."""
        return len(self.data)


@dataclass
class Call:
    """One request the fake received, kept so tests can assert on what the bot sent.

    ``params`` are decoded against api.json (ints are ints, JSON objects are dicts) once the
    request validated; before that (or if it did not) they are the raw values received.
    ``status`` is None while the request is still being handled (long poll, injected delay)
    or when the connection was dropped on purpose.
    """

    method: str
    params: dict[str, Any]
    time: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    response: dict[str, Any] | None = None
    injected: bool = False
    dropped: bool = False

    @property
    def ok(self) -> bool:
        """True when the fake answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (None otherwise)."""
        return (self.response or {}).get("result")

    @property
    def description(self) -> str | None:
        """Telegram's error description when the call failed."""
        return (self.response or {}).get("description")

    def summary(self) -> str:
        """One line for assertion messages."""
        shown = []
        for key, value in self.params.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            shown.append(f"{key}={text[:60]!r}")
        outcome = "dropped" if self.dropped else (self.status or "pending")
        extra = f" -> {self.description}" if self.description else ""
        return f"{self.method} [{outcome}] {' '.join(shown)}{extra}"


@dataclass
class _Fault:
    method: str
    status: int | None
    retry_after: int
    remaining: int
    drop: bool
    delay: float
    description: str | None
    html: bool = False


def _html_error_page(status: int) -> bytes:
    """What Telegram's front end (nginx) answers instead of the Bot API's JSON in an outage."""
    title = f"{status} {http.HTTPStatus(status).phrase}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}"
            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


@dataclass
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


# --------------------------------------------------------------------------------------------
# The spec (api.json)
# --------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value did not fit its declared type; ``depth`` ranks errors inside unions."""

    def __init__(self, message: str, depth: int) -> None:
        super().__init__(message)
        self.message = message
        self.depth = depth


_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always) [\"“]?([a-z_]+)")
_INTEGER_RE = re.compile(r"-?[0-9]+")


def _legacy(name: str, type_name: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "types": [type_name], "required": False}}


# Parameters dropped from the documentation that Telegram still accepts, keyed by the parameter
# that replaced them (so only methods that have the replacement accept them).
_LEGACY_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "reply_parameters": {
        **_legacy("reply_to_message_id", "Integer"),
        **_legacy("allow_sending_without_reply", "Boolean"),
    },
    "link_preview_options": _legacy("disable_web_page_preview", "Boolean"),
}


def _api_json_path() -> Path:
    """Find api.json: $TELEGRAM_API_JSON, else shared/ beside the repository (as in CI)."""
    env = os.environ.get("TELEGRAM_API_JSON")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [
        parent / "shared" / "telegram-bot-api" / "api.json" for parent in here.parents[2:5]
    ]
    candidates.append(Path("/work/shared/telegram-bot-api/api.json"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "api.json not found; set TELEGRAM_API_JSON. Looked in: "
        + ", ".join(str(c) for c in candidates)
    )


class ApiSpec:
    """api.json indexed for validation, so a typo in a method, parameter or field is caught."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.types: dict[str, dict[str, Any]] = data["types"]
        self._methods = {name.lower(): spec for name, spec in data["methods"].items()}
        self._fields = {
            name: {f["name"]: f for f in spec.get("fields", [])}
            for name, spec in {**self.types, **data["methods"]}.items()
        }
        self._discriminators: dict[str, tuple[str, str]] = {}
        for name, fields in self._fields.items():
            for key in ("type", "status", "source"):
                if key in fields and name in self.types:
                    found = _DISCRIMINATOR_RE.search(fields[key].get("description", ""))
                    if found:
                        self._discriminators[name] = (key, found.group(1))
                        break

    @classmethod
    @functools.cache
    def load(cls, path: str | None = None) -> ApiSpec:
        """Parse api.json once per process (it is large)."""
        source = Path(path) if path else _api_json_path()
        return cls(json.loads(source.read_text(encoding="utf-8")))

    def method(self, name: str) -> dict[str, Any] | None:
        """The method's spec; Telegram matches method names case-insensitively."""
        return self._methods.get(name.lower())

    def fields(self, name: str) -> dict[str, dict[str, Any]]:
        """Fields of a type or parameters of a method, by name."""
        return self._fields.get(name, {})

    # -- validation -----------------------------------------------------------------------

    def validate_params(
        self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """Check names, presence and types of a method's parameters; return them decoded."""
        fields = dict(self.fields(method))
        for anchor, legacy in _LEGACY_PARAMS.items():
            if anchor in fields:
                fields.update(legacy)
        attached = set(re.findall(r"attach://([^\"'\s,}]+)", json.dumps(raw, default=str)))
        values = dict(raw)
        for name, upload in files.items():
            if name in fields:
                values[name] = upload
            elif name not in attached:
                raise _bad_request(f'unknown parameter "{name}" for method {method}')
        for name in values:
            if name not in fields:
                raise _bad_request(f'unknown parameter "{name}" for method {method}')
        for name, spec in fields.items():
            if spec["required"] and name not in values:
                if name in ("text", "message_text"):
                    raise _bad_request("message text is empty")
                raise _bad_request(f'parameter "{name}" is required for method {method}')
        decoded = {}
        for name, value in values.items():
            try:
                decoded[name] = self.coerce(value, fields[name]["types"], name)
            except _Invalid as err:
                raise _bad_request(err.message) from None
        return decoded

    def coerce(self, value: Any, types: list[str], where: str, depth: int = 0) -> Any:
        """Decode ``value`` as the first of ``types`` it fits; raise the most telling error."""
        failures: list[_Invalid] = []
        for type_name in types:
            try:
                return self._coerce_one(value, type_name, where, depth)
            except _Invalid as err:
                failures.append(err)
        if len(types) > 1 and all(t in _PRIMITIVES for t in types):
            raise _Invalid(f"{where} must be {' or '.join(types)}", depth)
        return self._raise_best(failures)

    @staticmethod
    def _raise_best(failures: list[_Invalid]) -> Any:
        best = failures[0]
        for failure in failures[1:]:
            if failure.depth > best.depth:
                best = failure
        raise best

    @staticmethod
    def _decode_json(value: Any, kind: type, where: str, depth: int) -> Any:
        noun = "object" if kind is dict else "array"
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise _Invalid(f"can't parse {where} JSON {noun}", depth) from None
        if not isinstance(value, kind):
            raise _Invalid(f"{where} must be a JSON {noun}", depth)
        return value

    def _coerce_one(self, value: Any, type_name: str, where: str, depth: int) -> Any:
        if type_name.startswith("Array of "):
            inner = type_name.removeprefix("Array of ")
            items = self._decode_json(value, list, where, depth)
            return [
                self.coerce(item, [inner], f"{where}[{i}]", depth + 1)
                for i, item in enumerate(items)
            ]
        if type_name in _PRIMITIVES:
            return self._coerce_primitive(value, type_name, where, depth)
        spec = self.types.get(type_name)
        if spec is None:
            return value
        if "subtypes" in spec:
            return self._coerce_abstract(value, type_name, spec["subtypes"], where, depth)
        obj = self._decode_json(value, dict, where, depth)
        fields = self._fields.get(type_name, {})
        if not fields:
            return obj
        for key in obj:
            if key not in fields:
                raise _Invalid(f'{where}: unknown field "{key}" in {type_name}', depth + 1)
        for name, spec_field in fields.items():
            if spec_field["required"] and name not in obj:
                raise _Invalid(f'{where}: field "{name}" of {type_name} is required', depth + 1)
        discriminator = self._discriminators.get(type_name)
        if discriminator and obj.get(discriminator[0]) != discriminator[1]:
            key, expected = discriminator
            raise _Invalid(f'{where}.{key} must be "{expected}" for {type_name}', depth + 1)
        return {
            key: self.coerce(item, fields[key]["types"], f"{where}.{key}", depth + 1)
            for key, item in obj.items()
        }

    def _coerce_abstract(
        self, value: Any, type_name: str, subtypes: list[str], where: str, depth: int
    ) -> Any:
        if isinstance(value, str) and "String" not in subtypes:
            value = self._decode_json(value, dict, where, depth)
        candidates = list(subtypes)
        keyed = {c: self._discriminators[c] for c in candidates if c in self._discriminators}
        if isinstance(value, dict) and keyed:
            key = next(iter(keyed.values()))[0]
            if key not in value:
                raise _Invalid(f'{where}: field "{key}" of {type_name} is required', depth + 1)
            candidates = [c for c, (k, v) in keyed.items() if value.get(k) == v]
            if not candidates:
                raise _Invalid(f'{where}: unknown {type_name} {key} "{value.get(key)}"', depth + 1)
        return self.coerce(value, candidates, where, depth)

    @staticmethod
    def _coerce_primitive(value: Any, type_name: str, where: str, depth: int) -> Any:
        if type_name == "InputFile":
            if isinstance(value, UploadedFile):
                return value
        elif isinstance(value, UploadedFile):
            pass
        elif type_name == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
                return int(value)
        elif type_name == "Float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    number = float(value)
                    if math.isfinite(number):
                        return number
        elif type_name == "Boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
                return value.strip().lower() in ("true", "1")
            if value in (0, 1):
                return bool(value)
        elif type_name == "String":
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
        raise _Invalid(f"{where} must be {type_name}", depth)

    def synthesize(self, type_name: str, depth: int = 0) -> Any:
        """A minimal valid value of a type, for methods the fake answers without modelling."""
        if type_name.startswith("Array of"):
            return []
        basic = {"Integer": 1, "Float": 0.0, "Boolean": True, "String": ""}
        if type_name in basic:
            return basic[type_name]
        spec = self.types.get(type_name, {})
        if depth > 6:
            return {}
        if "subtypes" in spec:
            return self.synthesize(spec["subtypes"][0], depth + 1)
        result: dict[str, Any] = {}
        for name, spec_field in self._fields.get(type_name, {}).items():
            if spec_field["required"]:
                result[name] = self.synthesize(spec_field["types"][0], depth + 1)
        discriminator = self._discriminators.get(type_name)
        if discriminator:
            result[discriminator[0]] = discriminator[1]
        return result


# --------------------------------------------------------------------------------------------
# Telegram's content rules (shared by the server and unit tests)
# --------------------------------------------------------------------------------------------


def _parse_text(text: str, parse_mode: str | None, entities: list[Any] | None) -> ParsedHtml:
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            return parse_html(text)
        except HtmlParseError as err:
            raise _bad_request(f"can't parse entities: {err}") from None
    if mode in ("", "markdown", "markdownv2"):
        # Markdown is not parsed: its markup is taken as visible text.
        return ParsedHtml(text, tuple(entities or ()))
    raise _bad_request(f"unsupported parse_mode {parse_mode!r}")


def check_message_text(
    text: str, parse_mode: str | None = None, entities: list[Any] | None = None
) -> ParsedHtml:
    """Telegram's rules for a message text: valid markup, 1..4096 visible chars, <= 100 entities.

    Length counts the visible text (markup excluded) in code points, strictly.
    """
    parsed = _parse_text(text, parse_mode, entities)
    if not parsed.text.strip():
        raise _bad_request("message text is empty")
    if len(parsed.text) > MAX_TEXT and (parse_mode or "").lower() in ("", "html"):
        raise _bad_request("message is too long")
    if parsed.entity_count > MAX_ENTITIES:
        raise _bad_request(f"too many entities: {parsed.entity_count} > {MAX_ENTITIES}")
    return parsed


def check_caption(
    caption: str, parse_mode: str | None = None, entities: list[Any] | None = None
) -> ParsedHtml:
    """Telegram's rules for a media caption: valid markup, at most 1024 visible chars."""
    parsed = _parse_text(caption, parse_mode, entities)
    if len(parsed.text) > MAX_CAPTION and (parse_mode or "").lower() in ("", "html"):
        raise _bad_request("message caption is too long")
    if parsed.entity_count > MAX_ENTITIES:
        raise _bad_request(f"too many entities: {parsed.entity_count} > {MAX_ENTITIES}")
    return parsed


def _valid_button_url(url: str) -> bool:
    if not url or any(ch.isspace() for ch in url):
        return False
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    return parts.scheme.lower() in ("http", "https", "tg") and bool(parts.netloc)


def check_inline_keyboard(markup: Any) -> None:
    """Telegram's rules for inline keyboard buttons (one action each, callback_data 1-64 bytes)."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    total = 0
    for row in markup["inline_keyboard"]:
        for button in row:
            total += 1
            if not str(button.get("text", "")).strip():
                raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
            actions = sorted(set(button) - _BUTTON_NON_ACTION_FIELDS)
            if not actions:
                raise _bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise _bad_request(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {', '.join(actions)}"
                )
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not _valid_button_url(str(button["url"])):
                raise _bad_request(
                    f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
                )
    if total > MAX_BUTTONS:
        raise _bad_request("BUTTONS_TOO_MUCH")


def _auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's clients attach to typed text: commands, mentions and links."""
    found = []
    for kind, pattern in _AUTO_ENTITY_RES:
        for match in pattern.finditer(text):
            found.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group(0)),
                }
            )
    return sorted(found, key=lambda e: e["offset"])


def _trimmed(parsed: ParsedHtml) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims surrounding whitespace of a stored message; shift entities to match."""
    text = parsed.text.strip()
    lead = utf16_len(parsed.text[: len(parsed.text) - len(parsed.text.lstrip())])
    size = utf16_len(text)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return text, entities


def _update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotApi:
    """A Bot API server on 127.0.0.1 that validates requests, records them and serves updates.

    Start it with ``async with FakeBotApi() as fake`` (or the ``fake_bot_api`` fixture) and point
    PTB at ``fake.base_url`` with ``fake.token``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "docs_test_bot",
        bot_first_name: str = "Docs Test Bot",
        flood_limits: bool = False,
        strict_webhook_url: bool = False,
        api_json: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.flood_limits = flood_limits
        self.strict_webhook_url = strict_webhook_url
        self.spec = ApiSpec.load(str(api_json) if api_json else None)
        self._clock = clock
        prefix = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(prefix) if prefix.isdigit() else 123456789,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        # recording
        self.requests: list[Call] = []
        self.errors: list[Call] = []
        self.flood_429s: list[Call] = []
        self._sent: list[dict[str, Any]] = []
        self._edited: list[dict[str, Any]] = []
        self._call_event = asyncio.Event()
        # state
        self.webhook: dict[str, Any] | None = None
        self.my_commands: dict[str, list[dict[str, Any]]] = {}
        self.bot_texts: dict[str, str] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self._callback_queries: dict[str, bool] = {}
        self._inline_queries: dict[str, bool] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._bot_messages: set[tuple[int, int]] = set()
        self._next_message_id: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_242_000_000_000_000_001)
        self._update_event = asyncio.Event()
        self._allowed_updates: list[str] | None = None
        self._faults: list[_Fault] = []
        self._private_buckets: dict[int, tuple[float, float]] = {}
        self._group_windows: dict[int, deque[float]] = {}
        self._global_window: deque[float] = deque()
        # server
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getChat": self._get_chat,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "setMyDescription": functools.partial(self._set_bot_text, "description", 512),
            "getMyDescription": functools.partial(self._get_bot_text, "description"),
            "setMyShortDescription": functools.partial(
                self._set_bot_text, "short_description", 120
            ),
            "getMyShortDescription": functools.partial(self._get_bot_text, "short_description"),
            "setMyName": functools.partial(self._set_bot_text, "name", 64),
            "getMyName": functools.partial(self._get_bot_text, "name"),
        }

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"http://{self.host}:{self.port}/bot"

    def url(self, method: str, token: str | None = None) -> str:
        """Full URL of a method, for talking to the fake with httpx directly."""
        return f"{self.base_url}{token if token is not None else self.token}/{method}"

    async def start(self) -> FakeBotApi:
        """Listen on a free port in the running loop."""
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close the listener and every open connection (long polls included)."""
        if self._server is None:
            return
        self._stopping = True
        self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None
        self._stopping = False

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- HTTP ---------------------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                answer = await self._handle(request)
                if answer is None:
                    writer.transport.abort()
                    return
                status, body = answer
                writer.write(self._encode_response(status, body, request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except ValueError:
            return
        except asyncio.CancelledError:
            # stop() cancels connections; ending normally keeps asyncio's stream callback quiet.
            if not self._stopping:
                raise
            return
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
        line = b"\r\n"
        while line in (b"\r\n", b"\n"):
            line = await reader.readline()
            if not line:
                return None
        method, target, version = line.decode("latin-1").split()
        headers: dict[str, str] = {}
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readline()
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        connection = headers.get("connection", "").lower()
        keep_alive = connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
        return _HttpRequest(method.upper(), target, headers, body, keep_alive)

    @staticmethod
    def _encode_response(status: int, body: dict[str, Any] | bytes, keep_alive: bool) -> bytes:
        html = isinstance(body, bytes)  # an HTML error page (fail_next(html=True))
        payload = body if html else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Server: fake-bot-api\r\n"
            f"Content-Type: {'text/html' if html else 'application/json'}\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        return head.encode("latin-1") + payload

    @staticmethod
    def _parse_body(request: _HttpRequest) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        """Form fields, a JSON object or multipart parts, plus the query string."""
        path_query = urllib.parse.urlsplit(request.target).query
        params: dict[str, Any] = dict(urllib.parse.parse_qsl(path_query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        content_type = request.headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip().lower()
        if not request.body:
            return params, files
        if media_type == "application/json":
            try:
                data = json.loads(request.body)
            except ValueError:
                raise _bad_request("can't parse JSON request body") from None
            if not isinstance(data, dict):
                raise _bad_request("JSON request body must be an object")
            params.update(data)
        elif media_type == "multipart/form-data":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + request.body
            )
            if not message.is_multipart():
                raise _bad_request("can't parse multipart request body")
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name:
                    continue
                data = part.get_payload(decode=True) or b""
                filename = part.get_filename()
                if filename is not None:
                    files[str(name)] = UploadedFile(
                        str(name), filename, part.get_content_type(), data
                    )
                else:
                    charset = part.get_content_charset() or "utf-8"
                    params[str(name)] = data.decode(charset)
        else:
            params.update(
                urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            )
        return params, files

    async def _handle(self, request: _HttpRequest) -> tuple[int, dict[str, Any] | bytes] | None:
        """Answer one request: (status, JSON body or an HTML page), or None to drop the
        connection."""
        path = urllib.parse.urlsplit(request.target).path
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)", path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method_name = match.groups()
        spec = self.spec.method(method_name)
        call = Call(method=spec["name"] if spec else method_name, params={}, time=self._clock())
        self.requests.append(call)
        try:
            raw, files = self._parse_body(request)
            call.params, call.files = raw, files
        except ApiError as err:
            return self._finish(call, err.status, err.payload())
        self._notify()
        if token != self.token:
            return self._finish(call, 401, ApiError(401, "Unauthorized").payload())
        fault = self._take_fault(call.method)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                call.dropped = call.injected = True
                self._notify()
                return None
            if fault.status is not None and fault.html:
                call.injected, call.status = True, fault.status
                self._notify()
                return fault.status, _html_error_page(fault.status)
            if fault.status is not None:
                call.injected = True
                return self._finish(call, fault.status, self._fault_payload(fault))
        try:
            if spec is None:
                raise _bad_request("method not found")
            params = self.spec.validate_params(spec["name"], raw, files)
            call.params = params
            result = await self._dispatch(spec, params, call)
        except ApiError as err:
            return self._finish(call, err.status, err.payload())
        return self._finish(call, 200, {"ok": True, "result": result})

    def _finish(self, call: Call, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call.status, call.response = status, body
        if 400 <= status < 500:
            self.errors.append(call)
        self._notify()
        return status, body

    def _notify(self) -> None:
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()

    # -- dispatch -----------------------------------------------------------------------------

    async def _dispatch(self, spec: dict[str, Any], params: dict[str, Any], call: Call) -> Any:
        name = spec["name"]
        self._common_checks(params)
        counted = self.flood_limits and self._is_counted(name)
        if counted:
            self._flood_check(params, call)
        handler = self._handlers.get(name)
        if handler is not None:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        else:
            result = self._generic(spec, params)
        if counted:
            self._flood_consume(params)
        return result

    def _common_checks(self, params: dict[str, Any]) -> None:
        check_inline_keyboard(params.get("reply_markup"))
        if "caption" in params:
            check_caption(
                params["caption"], params.get("parse_mode"), params.get("caption_entities")
            )

    def _generic(self, spec: dict[str, Any], params: dict[str, Any]) -> Any:
        """Any method the fake does not model: validated already; answer a plausible result."""
        returns = spec.get("returns", ["Boolean"])
        name = spec["name"]
        if "Message" in returns:
            if "chat_id" not in params:
                return True if "Boolean" in returns else self.spec.synthesize("Message")
            content: dict[str, Any] = {}
            kind = _snake(name.removeprefix("send"))
            field_spec = self.spec.fields("Message").get(kind)
            if name.startswith("send") and field_spec:
                content[kind] = (
                    [
                        {
                            "file_id": "AgAD-fake",
                            "file_unique_id": "AQAD-fake",
                            "width": 90,
                            "height": 90,
                            "file_size": 1024,
                        }
                    ]
                    if kind == "photo"
                    else self.spec.synthesize(field_spec["types"][0])
                )
            if "caption" in params:
                text, entities = _trimmed(
                    check_caption(
                        params["caption"], params.get("parse_mode"), params.get("caption_entities")
                    )
                )
                content["caption"] = text
                if entities:
                    content["caption_entities"] = entities
            return self._bot_message(params, content)
        if returns == ["Array of Message"] and "chat_id" in params and "media" in params:
            return [self._bot_message(params, {}) for _ in params["media"]]
        if "Boolean" in returns:
            return True
        return self.spec.synthesize(returns[0])

    # -- chats and messages -------------------------------------------------------------------

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        """The chat a bot addresses; unknown ids get a chat typed by the id's shape."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if isinstance(chat_id, str):
            username = chat_id.lstrip("@")
            numeric = -1_000_000_000_000 - (int.from_bytes(username.encode()[:5], "big") % 10**9)
            chat = {"id": numeric, "type": "channel", "title": username, "username": username}
            self._chats[numeric] = chat
        elif chat_id > 0:
            chat = {
                "id": chat_id,
                "type": "private",
                "first_name": "User",
                "username": f"user{chat_id}",
            }
        elif str(chat_id).startswith("-100"):
            chat = {"id": chat_id, "type": "supergroup", "title": "Test supergroup"}
        else:
            chat = {"id": chat_id, "type": "group", "title": "Test group"}
        self._chats[chat_id] = chat
        return chat

    def _new_message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _bot_message(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        message: dict[str, Any] = {"message_id": self._new_message_id(chat["id"])}
        if chat["type"] == "channel":
            message["sender_chat"] = copy.deepcopy(chat)
        else:
            message["from"] = copy.deepcopy(self.bot_user)
        message.update(chat=copy.deepcopy(chat), date=int(time.time()))
        if params.get("message_thread_id"):
            message["message_thread_id"] = params["message_thread_id"]
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply", False),
            }
        if reply:
            target_chat = self._chat(reply.get("chat_id", params["chat_id"]))["id"]
            target = self._messages.get((target_chat, reply["message_id"]))
            if target is None and not reply.get("allow_sending_without_reply"):
                raise _bad_request("message to be replied not found")
            if target is not None:
                quoted = copy.deepcopy(target)
                quoted.pop("reply_to_message", None)
                message["reply_to_message"] = quoted
        message.update(content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        key = (chat["id"], message["message_id"])
        self._messages[key] = message
        self._bot_messages.add(key)
        self._sent.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = _trimmed(
            check_message_text(params["text"], params.get("parse_mode"), params.get("entities"))
        )
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if params.get("link_preview_options"):
            content["link_preview_options"] = params["link_preview_options"]
        return self._bot_message(params, content)

    def _editable(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The bot's message an edit targets (None for inline messages); Telegram's errors."""
        if params.get("inline_message_id"):
            return None
        if "chat_id" not in params or "message_id" not in params:
            raise _bad_request("message identifier is not specified")
        key = (self._chat(params["chat_id"])["id"], params["message_id"])
        message = self._messages.get(key)
        if message is None:
            raise _bad_request("message to edit not found")
        if key not in self._bot_messages:
            raise _bad_request("message can't be edited")
        return message

    def _store_edit(self, message: dict[str, Any]) -> dict[str, Any]:
        message["edit_date"] = int(time.time())
        self._edited.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> Any:
        text, entities = _trimmed(
            check_message_text(params["text"], params.get("parse_mode"), params.get("entities"))
        )
        message = self._editable(params)
        if message is None:
            return True
        markup = params.get("reply_markup")
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        for key, value in (("entities", entities), ("reply_markup", markup)):
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        return self._store_edit(message)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        message = self._editable(params)
        if message is None:
            return True
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._store_edit(message)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        key = (self._chat(params["chat_id"])["id"], params["message_id"])
        if self._messages.pop(key, None) is None:
            raise _bad_request("message to delete not found")
        self._bot_messages.discard(key)
        return True

    # -- queries ------------------------------------------------------------------------------

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params["callback_query_id"]
        if self._callback_queries.get(query_id, True):
            raise _bad_request("QUERY_ID_INVALID")
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER:
            raise _bad_request("MESSAGE_TOO_LONG")
        if params.get("url") is not None and not _valid_button_url(params["url"]):
            raise _bad_request("URL_INVALID")
        self._callback_queries[query_id] = True
        self.callback_answers[query_id] = params
        return True

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = params["inline_query_id"]
        if self._inline_queries.get(query_id, True):
            raise _bad_request("QUERY_ID_INVALID")
        results = params["results"]
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result["id"])
            if not 1 <= len(result_id.encode("utf-8")) <= 64:
                raise _bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                check_message_text(
                    content["message_text"], content.get("parse_mode"), content.get("entities")
                )
            if "caption" in result:
                check_caption(
                    result["caption"], result.get("parse_mode"), result.get("caption_entities")
                )
            check_inline_keyboard(result.get("reply_markup"))
        if len(str(params.get("next_offset") or "").encode("utf-8")) > 64:
            raise _bad_request("NEXT_OFFSET_INVALID")
        self._inline_queries[query_id] = True
        self.inline_answers[query_id] = params
        return True

    # -- bot settings -------------------------------------------------------------------------

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not _COMMAND_RE.fullmatch(command["command"]):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.my_commands[self._commands_key(params)] = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.my_commands.get(self._commands_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.my_commands.pop(self._commands_key(params), None)
        return True

    def registered_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands the bot set with setMyCommands for that scope and language."""
        return self.my_commands.get(
            self._commands_key({"scope": scope, "language_code": language_code}), []
        )

    def _set_bot_text(self, key: str, limit: int, params: dict[str, Any]) -> bool:
        value = params.get(key) or ""
        if len(value) > limit:
            raise _bad_request(f"{key.upper()}_INVALID")
        self.bot_texts[f"{key}:{params.get('language_code') or ''}"] = value
        return True

    def _get_bot_text(self, key: str, params: dict[str, Any]) -> dict[str, str]:
        fallback = self.bot_user["first_name"] if key == "name" else ""
        value = self.bot_texts.get(f"{key}:{params.get('language_code') or ''}", fallback)
        return {key: value}

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(self.bot_user)

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        full = self.spec.synthesize("ChatFullInfo")
        full.update(copy.deepcopy(self._chat(params["chat_id"])), max_reaction_count=11)
        return full

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        if params["action"] not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._chat(params["chat_id"])
        return True

    # -- webhook --------------------------------------------------------------------------------

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params["url"]
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        if not url:
            self.webhook = None
            return True
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: invalid webhook URL specified")
        if self.strict_webhook_url:
            if parts.scheme != "https":
                raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
            if (parts.port or 443) not in (443, 80, 88, 8443):
                raise _bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.get("max_connections", 40),
            "allowed_updates": params.get("allowed_updates"),
            "ip_address": params.get("ip_address"),
        }
        if params.get("allowed_updates") is not None:
            self._allowed_updates = params["allowed_updates"] or None
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook["ip_address"]:
                info["ip_address"] = self.webhook["ip_address"]
        return info

    async def post_update_to_webhook(
        self,
        update: dict[str, Any],
        url: str | None = None,
        *,
        secret_token: str | bool | None = True,
        content_type: str = "application/json",
        timeout: float = 5.0,
    ) -> int:
        """POST an update to the bot's webhook as Telegram does; returns the HTTP status.

        ``url`` defaults to the one given to setWebhook. ``secret_token=True`` sends the secret
        given to setWebhook (if any), a string sends that string, None or False sends no header.
        """
        target = url or (self.webhook or {}).get("url")
        if not target:
            raise AssertionError("no webhook URL: pass url= or let the bot call setWebhook first")
        headers = {"Content-Type": content_type}
        secret = (self.webhook or {}).get("secret_token") if secret_token is True else secret_token
        if isinstance(secret, str):
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(kind)
            if isinstance(message, dict) and "chat" in message and "message_id" in message:
                # so the bot can reply to a hand-made update as it could to a pushed one
                key = (message["chat"]["id"], message["message_id"])
                self._messages.setdefault(key, copy.deepcopy(message))
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(
                target, content=json.dumps(update).encode("utf-8"), headers=headers
            )
        return response.status_code

    # -- updates --------------------------------------------------------------------------------

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = _update_kind(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATES

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if offset is not None and offset < 0:
            self._updates = self._updates[offset:]
        elif offset is not None:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        limit = min(max(params.get("limit", 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(params.get("timeout", 0), 0)
        while True:
            self._updates = [u for u in self._updates if self._allowed(u)]
            remaining = deadline - loop.time()
            if self._updates or remaining <= 0:
                return copy.deepcopy(self._updates[:limit])
            event = self._update_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any update dict (an ``update_id`` is added); returns it."""
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()
        return copy.deepcopy(update)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (getUpdates offset)."""
        return copy.deepcopy(self._updates)

    def _user(
        self, user_id: int, first_name: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        user = self._users.get(user_id) or {
            "id": user_id,
            "is_bot": False,
            "first_name": "Alice",
            "username": f"user{user_id}",
            "language_code": "en",
        }
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        self._users[user_id] = user
        return copy.deepcopy(user)

    def _user_chat(
        self, chat_type: str, chat_id: int | None, user: dict[str, Any], title: str | None
    ) -> dict[str, Any]:
        if chat_type == "private":
            chat_id = user["id"] if chat_id is None else chat_id
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if user.get("username"):
                chat["username"] = user["username"]
        elif chat_type in ("group", "supergroup", "channel"):
            defaults = {
                "group": DEFAULT_GROUP_ID,
                "supergroup": DEFAULT_SUPERGROUP_ID,
                "channel": DEFAULT_CHANNEL_ID,
            }
            chat_id = defaults[chat_type] if chat_id is None else chat_id
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Test {chat_type}"}
        else:
            raise ValueError(f"unknown chat_type {chat_type!r}")
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def _user_message(
        self,
        *,
        chat_id: int | None,
        chat_type: str,
        user_id: int,
        first_name: str | None,
        username: str | None,
        reply_to: dict[str, Any] | None,
        title: str | None = None,
    ) -> dict[str, Any]:
        if reply_to is not None and chat_id is None:
            chat_id = reply_to["chat"]["id"]
            chat_type = reply_to["chat"]["type"]
        user = self._user(user_id, first_name, username)
        chat = self._user_chat(chat_type, chat_id, user, title)
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            quoted = copy.deepcopy(reply_to)
            quoted.pop("reply_to_message", None)
            message["reply_to_message"] = quoted
        return message

    def _store_user_message(self, message: dict[str, Any]) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = copy.deepcopy(message)

    def push_message(
        self,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """A user writes ``text``; entities for /commands, @mentions and links are automatic.

        ``reply_to`` is a message dict (e.g. one from :meth:`sent_messages`); the chat defaults
        to its chat. Returns the queued update.
        """
        message = self._user_message(
            chat_id=chat_id,
            chat_type=chat_type,
            user_id=user_id,
            first_name=first_name,
            username=username,
            reply_to=reply_to,
            title=title,
        )
        message["text"] = text
        found = _auto_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        self._store_user_message(message)
        return self.push_update({"message": message})

    def push_edited_message(
        self,
        text: str,
        *,
        message: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A user edits ``message`` (a pushed message dict) to ``text``, or a new one if None."""
        if message is None:
            edited = self._user_message(
                chat_id=kwargs.get("chat_id"),
                chat_type=kwargs.get("chat_type", "private"),
                user_id=kwargs.get("user_id", DEFAULT_USER_ID),
                first_name=kwargs.get("first_name"),
                username=kwargs.get("username"),
                reply_to=kwargs.get("reply_to"),
                title=kwargs.get("title"),
            )
        else:
            edited = copy.deepcopy(message.get("message", message))
            edited.pop("entities", None)
        edited["text"] = text
        found = _auto_entities(text) if entities is None else entities
        if found:
            edited["entities"] = found
        edited["edit_date"] = int(time.time())
        self._store_user_message(edited)
        return self.push_update({"edited_message": edited})

    def push_channel_post(
        self,
        text: str,
        *,
        chat_id: int = DEFAULT_CHANNEL_ID,
        title: str = "Test channel",
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A post in a channel where the bot is admin (no ``from``, ``sender_chat`` instead)."""
        chat = {"id": chat_id, "type": "channel", "title": title}
        self._chats[chat_id] = chat
        post: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "sender_chat": copy.deepcopy(chat),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            "text": text,
        }
        found = _auto_entities(text) if entities is None else entities
        if found:
            post["entities"] = found
        self._store_user_message(post)
        return self.push_update({"channel_post": post})

    def push_photo(
        self,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message without text (a photo), to test that the bot copes with ``text=None``."""
        message = self._user_message(
            chat_id=chat_id,
            chat_type=chat_type,
            user_id=user_id,
            first_name=first_name,
            username=username,
            reply_to=reply_to,
        )
        message["photo"] = [
            {
                "file_id": f"AgAC-small-{message['message_id']}",
                "file_unique_id": "AQADs",
                "width": 90,
                "height": 67,
                "file_size": 1500,
            },
            {
                "file_id": f"AgAC-large-{message['message_id']}",
                "file_unique_id": "AQADl",
                "width": 1280,
                "height": 960,
                "file_size": 120_000,
            },
        ]
        if caption is not None:
            message["caption"] = caption
        self._store_user_message(message)
        return self.push_update({"message": message})

    def push_callback_query(
        self,
        data: str,
        *,
        message: dict[str, Any] | None = None,
        inline_message_id: str | None = None,
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        check_button: bool = True,
    ) -> dict[str, Any]:
        """A user presses a button with ``data`` on ``message`` (a message the bot sent).

        With ``check_button`` the data must be on one of the message's buttons, as only those
        can be pressed. The query must then be answered once (answerCallbackQuery).
        """
        if message is None and inline_message_id is None:
            raise ValueError("push_callback_query needs message= or inline_message_id=")
        query_id = str(next(self._query_ids))
        query: dict[str, Any] = {
            "id": query_id,
            "from": self._user(user_id, first_name, username),
            "chat_instance": str(abs(hash(str((message or {}).get("chat", {}).get("id"))))),
            "data": data,
        }
        if message is not None:
            current = self._messages.get((message["chat"]["id"], message["message_id"]), message)
            buttons = [
                b.get("callback_data")
                for row in (current.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            if check_button and data not in buttons:
                raise ValueError(f"no button with callback_data {data!r} on that message")
            query["message"] = copy.deepcopy(current)
        if inline_message_id is not None:
            query["inline_message_id"] = inline_message_id
        self._callback_queries[query_id] = False
        return self.push_update({"callback_query": query})

    def push_inline_query(
        self,
        query: str,
        *,
        offset: str = "",
        user_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        username: str | None = None,
        chat_type: str = "sender",
    ) -> dict[str, Any]:
        """A user types ``@bot query`` (at most 256 chars); answer with answerInlineQuery once."""
        if len(query) > 256:
            raise ValueError("Telegram never sends inline queries longer than 256 characters")
        query_id = str(next(self._query_ids))
        self._inline_queries[query_id] = False
        return self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": self._user(user_id, first_name, username),
                    "query": query,
                    "offset": offset,
                    "chat_type": chat_type,
                }
            }
        )

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of pushed callback queries the bot has not answered (it should answer all)."""
        return [qid for qid, answered in self._callback_queries.items() if not answered]

    def unanswered_inline_queries(self) -> list[str]:
        """Ids of pushed inline queries the bot has not answered."""
        return [qid for qid, answered in self._inline_queries.items() if not answered]

    # -- recording helpers ----------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded requests, all or of one method (case-insensitive)."""
        if method is None:
            return list(self.requests)
        wanted = method.lower()
        return [c for c in self.requests if c.method.lower() == wanted]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent successfully, as Telegram returned them, oldest first."""
        return [
            copy.deepcopy(m) for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id
        ]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Visible texts of the messages the bot sent (captions for media)."""
        return [m.get("text", m.get("caption", "")) for m in self.sent_messages(chat_id)]

    def edited_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Each successful edit of a bot message, as the message looked after it."""
        return [
            copy.deepcopy(m) for m in self._edited if chat_id is None or m["chat"]["id"] == chat_id
        ]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message's current state (after edits), or None if unknown or deleted."""
        found = self._messages.get((chat_id, message_id))
        return copy.deepcopy(found) if found is not None else None

    def assert_no_errors(self, *, include_injected: bool = False) -> None:
        """Fail listing every 4xx the bot provoked (injected faults excluded by default)."""
        errors = [c for c in self.errors if include_injected or not c.injected]
        if errors:
            listing = "\n  ".join(c.summary() for c in errors)
            raise AssertionError(
                f"the fake Bot API rejected {len(errors)} request(s):\n  {listing}"
            )

    def _received(self) -> str:
        if not self.requests:
            return "nothing"
        return "\n  " + "\n  ".join(c.summary() for c in self.requests[-40:])

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) were received.

        Returns all matching calls; raises AssertionError listing what arrived on timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matches = [c for c in self.calls(method) if predicate is None or predicate(c)]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                which = " matching the predicate" if predicate else ""
                raise AssertionError(
                    f"expected {count} {method} call(s){which} within {timeout}s, "
                    f"got {len(matches)}; received: {self._received()}"
                )
            event = self._call_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_messages(
        self, count: int = 1, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent ``count`` messages (to ``chat_id``); returns them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = self.sent_messages(chat_id)
            if len(messages) >= count:
                return messages
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} message(s) sent to {chat_id or 'any chat'} within "
                    f"{timeout}s, got {len(messages)}; received: {self._received()}"
                )
            event = self._call_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # -- fault injection and flood limits ---------------------------------------------------------

    def fail_next(
        self,
        method: str = "*",
        status: int | None = None,
        *,
        retry_after: int = 1,
        count: int = 1,
        drop: bool = False,
        delay: float = 0.0,
        description: str | None = None,
        html: bool = False,
    ) -> None:
        """Make the next ``count`` calls of ``method`` ("*" = any) fail.

        ``status`` 429 (the default when nothing else is asked) carries ``retry_after``; 403
        is "bot was blocked by the user"; 5xx are server errors. ``drop`` closes the connection
        without an answer. ``delay`` waits that long first (then answers normally unless a
        status or drop is also given), to provoke client timeouts. ``html`` answers the status
        with an HTML page instead of JSON, as Telegram's front end does on 502/504.
        """
        if status is None and not drop and not delay:
            status = 429
        self._faults.append(
            _Fault(method.lower(), status, retry_after, count, drop, delay, description, html)
        )

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in ("*", method.lower()):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_payload(fault: _Fault) -> dict[str, Any]:
        assert fault.status is not None
        if fault.status == 429:
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            ).payload()
        description = fault.description or _FAULT_DESCRIPTIONS.get(
            fault.status, http.HTTPStatus(fault.status).phrase
        )
        return ApiError(fault.status, description).payload()

    @staticmethod
    def _is_counted(method: str) -> bool:
        return (
            (method.startswith("send") and method != "sendChatAction")
            or method.startswith("editMessage")
            or method in ("copyMessage", "copyMessages", "forwardMessage", "forwardMessages")
        )

    def _flood_check(self, params: dict[str, Any], call: Call) -> None:
        """429 when the bot exceeds Telegram's limits: 1/s per private chat (burst 3),
        20/min per group, 30/s overall."""
        now = self._clock()
        wait = 0.0
        window = self._global_window
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= 30:
            wait = max(wait, window[0] + 1.0 - now)
        if "chat_id" in params:
            chat = self._chat(params["chat_id"])
            if chat["type"] == "private":
                tokens, last = self._private_buckets.get(chat["id"], (3.0, now))
                tokens = min(3.0, tokens + (now - last))
                if tokens < 1.0:
                    wait = max(wait, 1.0 - tokens)
            else:
                group = self._group_windows.setdefault(chat["id"], deque())
                while group and now - group[0] >= 60.0:
                    group.popleft()
                if len(group) >= 20:
                    wait = max(wait, group[0] + 60.0 - now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.flood_429s.append(call)
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def _flood_consume(self, params: dict[str, Any]) -> None:
        now = self._clock()
        self._global_window.append(now)
        if "chat_id" not in params:
            return
        chat = self._chat(params["chat_id"])
        if chat["type"] == "private":
            tokens, last = self._private_buckets.get(chat["id"], (3.0, now))
            tokens = min(3.0, tokens + (now - last))
            self._private_buckets[chat["id"]] = (tokens - 1.0, now)
        else:
            self._group_windows.setdefault(chat["id"], deque()).append(now)


@pytest_asyncio.fixture(name="fake_bot_api")
async def fake_bot_api_fixture() -> AsyncIterator[FakeBotApi]:
    """A started FakeBotApi with default settings, stopped after the test."""
    async with FakeBotApi() as fake:
        yield fake
