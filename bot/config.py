"""TOML config + environment -> one frozen Config. Every validation message is made here."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.questionlog import MAX_KEEP_DAYS
from bot.search import Settings
from bot.search.confidence import FEATURES

DEFAULT_SEEDS = Path("seeds")
DEFAULT_DB = Path("data/index.sqlite3")
TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,60}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


# With the rate limiter's burst of 5, no second then holds more than Telegram's ~30.
MAX_REQUESTS_PER_SECOND = DEFAULT_REQUESTS_PER_SECOND = 25
DEFAULT_QUESTIONS_PER_MINUTE = 20
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# Largest webhook request body accepted (413 past it); Telegram's updates are far smaller.
DEFAULT_MAX_BODY_BYTES = 1 << 20


class ConfigError(Exception):
    """A bad config: told in one line, exit code 2."""


@dataclass(frozen=True, slots=True)
class Config:
    seeds: Path = DEFAULT_SEEDS
    db: Path = DEFAULT_DB
    token: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    mode: str = "polling"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "telegram"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    admins: tuple[int, ...] = ()
    # Bot API requests a second the rate limiter allows: under Telegram's ~30 overall, and a
    # share of it per replica when several serve one bot.
    requests_per_second: int = DEFAULT_REQUESTS_PER_SECOND
    # One person's questions a minute above which, while some wait, only the newest is answered.
    questions_per_minute: int = DEFAULT_QUESTIONS_PER_MINUTE
    log_level: str = "INFO"
    log_db: Path = Path("data/questions.sqlite3")
    store_questions: bool = True
    # Salt for the user hashes in the question log; "" means a random one kept in the log itself.
    log_salt: str = field(default="", repr=False)
    # Days the question log keeps a row; 0 keeps everything.
    log_keep_days: int = 0
    matching: Settings = field(default_factory=Settings)
    source: Path | None = None


_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "index": {"seeds": str, "db": str},
    "telegram": {
        "token": str,
        "base_url": str,
        "mode": str,
        "admins": list,
        "requests_per_second": int,
        "questions_per_minute": int,
    },
    "webhook": {
        "listen": str,
        "port": int,
        "path": str,
        "url": str,
        "secret_token": str,
        "max_body_bytes": int,
    },
    "matching": {
        "threshold": (int, float),
        "faq_threshold": (int, float),
        "margin": (int, float),
        "candidate_cap": int,
        "calibration": list,
    },
    "log": {"level": str, "path": str, "store_questions": bool, "salt": str, "keep_days": int},
}


# (variable, section, key): string settings the environment may set, over the config file.
_ENVIRONMENT = (
    ("BOT_MODE", "telegram", "mode"),
    ("BOT_WEBHOOK_URL", "webhook", "url"),
    ("BOT_WEBHOOK_LISTEN", "webhook", "listen"),
    ("BOT_WEBHOOK_SECRET", "webhook", "secret_token"),
)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    for section, value in data.items():
        if section not in _SCHEMA or not isinstance(value, dict):
            raise ConfigError(f"config {path}: unknown section [{section}]")
        for key, v in value.items():
            want = _SCHEMA[section].get(key)
            if want is None:
                raise ConfigError(f"config {path}: unknown key {section}.{key}")
            if not isinstance(v, want) or (want is int and isinstance(v, bool)):
                raise ConfigError(f"config {path}: {section}.{key} has the wrong type")
    return data


def _calibration(
    value: list | None, default: tuple[float, ...] | None
) -> tuple[float, ...] | None:
    """The confidence model's weights (intercept, then one per evidence feature); an empty
    list switches it off (raw evidence as the confidence)."""
    if value is None:
        return default
    if value == []:
        return None
    size = len(FEATURES) + 1
    if len(value) != size or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise ConfigError(
            f"matching.calibration must be {size} numbers (intercept, {', '.join(FEATURES)}) "
            "or []"
        )
    return tuple(float(v) for v in value)


def load(
    path: Path | None = None, seeds: Path | None = None, db: Path | None = None
) -> Config:
    """Config from a file (relative paths resolved against it), then command-line overrides."""
    data: dict[str, Any] = _read(path) if path else {}
    base = path.resolve().parent if path else Path.cwd()

    def rel(value: str | None, default: Path) -> Path:
        p = Path(value) if value else default
        return p if p.is_absolute() else (base / p if value else p)

    idx, tg = data.get("index", {}), data.get("telegram", {})
    wh, mt, lg = data.get("webhook", {}), data.get("matching", {}), data.get("log", {})
    # The environment beats the file for what differs per deployment (Docker: no file needed).
    for env, section, key in _ENVIRONMENT:
        value = os.environ.get(env, "").strip()
        if value:
            data.setdefault(section, {})[key] = value
    tg, wh = data.get("telegram", tg), data.get("webhook", wh)
    mode = tg.get("mode", "polling")
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"telegram.mode must be 'polling' or 'webhook', not {mode!r}")
    port = wh.get("port", 8443)
    if not 0 < port < 65536:
        raise ConfigError(f"webhook.port must be 1-65535, not {port}")
    secret = wh.get("secret_token", "")
    if secret and not SECRET_RE.match(secret):
        raise ConfigError("webhook.secret_token must be 1-256 characters of A-Z a-z 0-9 _ -")
    max_body = wh.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if max_body < 1:
        raise ConfigError(f"webhook.max_body_bytes must be a positive byte count, not {max_body}")
    admins = tg.get("admins", [])
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in admins):
        raise ConfigError("telegram.admins must be a list of numeric user ids")
    rate = tg.get("requests_per_second", DEFAULT_REQUESTS_PER_SECOND)
    if not 1 <= rate <= MAX_REQUESTS_PER_SECOND:
        raise ConfigError(
            f"telegram.requests_per_second must be 1-{MAX_REQUESTS_PER_SECOND}, not {rate}"
        )
    per_minute = tg.get("questions_per_minute", DEFAULT_QUESTIONS_PER_MINUTE)
    if not 1 <= per_minute <= 600:
        raise ConfigError(f"telegram.questions_per_minute must be 1-600, not {per_minute}")
    level = lg.get("level", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"log.level must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    keep_days = lg.get("keep_days", 0)
    if not 0 <= keep_days <= MAX_KEEP_DAYS:
        raise ConfigError(
            f"log.keep_days must be 0 (keep everything) or 1-{MAX_KEEP_DAYS} days, not {keep_days}"
        )
    defaults = Settings()
    matching = Settings(
        threshold=float(mt.get("threshold", defaults.threshold)),
        faq_threshold=float(mt.get("faq_threshold", defaults.faq_threshold)),
        margin=float(mt.get("margin", defaults.margin)),
        candidate_cap=int(mt.get("candidate_cap", defaults.candidate_cap)),
        calibration=_calibration(mt.get("calibration"), defaults.calibration),
    )
    for name in ("threshold", "faq_threshold", "margin"):
        if not 0.0 <= getattr(matching, name) <= 1.0:
            raise ConfigError(f"matching.{name} must be between 0 and 1")
    return Config(
        seeds=seeds or rel(idx.get("seeds"), DEFAULT_SEEDS),
        db=db or rel(idx.get("db"), DEFAULT_DB),
        token=os.environ.get("BOT_TOKEN", "").strip() or tg.get("token", ""),
        base_url=tg.get("base_url", DEFAULT_BASE_URL),
        mode=mode,
        webhook_listen=wh.get("listen", "127.0.0.1"),
        webhook_port=port,
        webhook_path=wh.get("path", "telegram").strip("/"),
        webhook_url=wh.get("url", ""),
        webhook_secret=secret,
        webhook_max_body_bytes=max_body,
        admins=tuple(admins),
        requests_per_second=rate,
        questions_per_minute=per_minute,
        log_level=level,
        log_db=rel(lg.get("path"), Path("data/questions.sqlite3")),
        store_questions=lg.get("store_questions", True),
        log_salt=os.environ.get("BOT_LOG_SALT", "").strip() or lg.get("salt", ""),
        log_keep_days=keep_days,
        matching=matching,
        source=path,
    )


def check_token(token: str) -> str:
    """The token, or a ConfigError that never repeats it."""
    if not token:
        raise ConfigError("no Telegram token: set BOT_TOKEN or [telegram] token in the config")
    if not TOKEN_RE.match(token):
        raise ConfigError(
            "the Telegram token is malformed (expected digits:letters from BotFather)"
        )
    return token
