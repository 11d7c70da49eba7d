"""PTB's HTTP transport on aiohttp instead of its default, httpx.

Why: the load test (`python -m bot loadtest`) showed httpx + httpcore spending ~1.6-2.3 ms of CPU
on every Bot API call (httpcore re-checks every pooled connection on each request); aiohttp does
the same call in ~0.6 ms. At hundreds of updates a second that is the difference between one
core keeping up or not. PTB supports this officially: `BaseRequest` is its extension point, and
`ApplicationBuilder.request()` / `.get_updates_request()` take one.

Errors map as PTB's own transport maps them (TELEGRAM.md): timeouts -> `TimedOut`, anything the
connection does -> `NetworkError`, so polling backs off and recovers exactly as with httpx. The
request URL holds the token, so no message built here repeats it.

A 5xx whose body is not the Bot API's JSON (Telegram's front end answers 502/504 with an HTML
page during outages) is a `NetworkError` with a one-line message, raised here: left to PTB, its
`parse_json_payload` logs an ERROR with the JSON decoder's traceback and the whole page before
the same NetworkError, for what is an expected network condition. Anything else that is not JSON
(a 200, a 4xx) still goes through PTB and stays loud. What httpx did for free is
kept: the environment's proxy (HTTPS_PROXY, NO_PROXY) and certifi's CA roots.
"""

from __future__ import annotations

import http
import json
import ssl
import urllib.parse
import urllib.request
from functools import lru_cache
from typing import Any

import aiohttp
import certifi
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

DEFAULT_TIMEOUT = 5.0  # seconds, as PTB's HTTPXRequest
DEFAULT_POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
JSON_HEADERS = {"Content-Type": "application/json"}


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """Certificates checked against certifi's roots, as httpx checks them: a slim image with no
    system CA store still reaches api.telegram.org."""
    return ssl.create_default_context(cafile=certifi.where())


def _given(value: Any, default: float | None) -> float | None:
    """A per-call timeout PTB passed, or ours when it passed none (its DEFAULT_NONE)."""
    return default if value is BaseRequest.DEFAULT_NONE else value


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool, opened on the running loop."""

    __slots__ = ("_connect", "_pool", "_pool_size", "_proxies", "_read", "_session", "_write")

    def __init__(
        self,
        connection_pool_size: int = 8,
        read_timeout: float | None = DEFAULT_TIMEOUT,
        write_timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_TIMEOUT,
        pool_timeout: float | None = DEFAULT_POOL_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """PTB adds this to getUpdates' long-polling timeout."""
        return self._read

    async def initialize(self) -> None:
        # A session belongs to the loop it was made on: make it here, not in __init__.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=tls_context())
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _proxy(self, url: str) -> str | None:
        """The proxy the environment names for this URL's server (HTTPS_PROXY, NO_PROXY...), as
        httpx honours it; looked up once per server (aiohttp's trust_env would read the
        environment on every call, a third of a call's CPU)."""
        origin = url[: url.find("/", url.find("//") + 2)]
        if origin not in self._proxies:
            parts = urllib.parse.urlsplit(url)
            proxy = None
            if not urllib.request.proxy_bypass(parts.hostname or ""):
                proxy = urllib.request.getproxies().get(parts.scheme)
            self._proxies[origin] = proxy
        return self._proxies[origin]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        data: Any = None
        headers = None
        if files:
            data = aiohttp.FormData(request_data.json_parameters if request_data else {})
            for name, (filename, content, mimetype) in files.items():
                data.add_field(name, content, filename=filename, content_type=mimetype)
        elif request_data and request_data.parameters:
            # A JSON body, which the Bot API takes as readily as a form: one json.dumps instead
            # of url-quoting every character of a long HTML message.
            data = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = JSON_HEADERS
        # aiohttp has no write timeout of its own: sending counts against the read budget,
        # which uploads get at least the media allowance of.
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else self._write)
        if files and read is not None and write is not None:
            read = max(read, write)
        pool, connect = _given(pool_timeout, self._pool), _given(connect_timeout, self._connect)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy(url)
            ) as resp:
                status, body = resp.status, await resp.read()
        except TimeoutError as exc:
            raise TimedOut(f"aiohttp: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            # The class name says what happened; str(exc) may hold the URL, token and all.
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from exc
        if status >= 500 and not _is_json(body):
            raise NetworkError(f"{_phrase(status)} ({status}): the server answered with a "
                               f"non-JSON page ({len(body)} bytes) instead of the Bot API's JSON")
        return status, body


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:  # UnicodeDecodeError is one too
        return False
    return True


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Server error"
