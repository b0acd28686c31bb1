"""HTTP security headers on every answer, and the explorer page's Content-Security-Policy.

Every HTTP answer: `X-Content-Type-Options: nosniff` (a JSON error echoing input is never
sniffed into HTML), `Referrer-Policy: no-referrer` (a query typed in the explorer need not
reach whatever a link leads to), `X-Frame-Options: DENY` and, unless the answer brings its
own, `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` (nothing of ours is
meant to be framed or to load anything). Answers to requests carrying a session (Bearer token or
session cookie) and answers setting a cookie get `Cache-Control: private, no-store`: a viewer's
data must not stay in a shared or browser cache.

The explorer's policy is derived from the page as served (`explorer_csp`): the exact files its
scripts and stylesheets load and the hash of its inline script, so it allows what the page loads
and nothing else, and follows the page if it changes. Since issue 14 the page
(sigma_graphql/server/explorer_page.py) loads only files of our own origin and has no inline
script, so its scripts get exactly 'self'; tests/test_explorer_browser.py runs it in headless
Chromium under this policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sigma_graphql.request.context import SESSION_COOKIE

API_CSP = "default-src 'none'; frame-ancestors 'none'"
_COOKIE = f"{SESSION_COOKIE}=".encode()

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_SRC = re.compile(r"\bsrc\s*=", re.I)
_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)
_LINK = re.compile(r"<link\b([^>]*)>", re.I)
_HREF = re.compile(r"\bhref\s*=\s*[\"']([^\"']+)[\"']", re.I)
_STYLESHEET = re.compile(r"\brel\s*=\s*[\"']?stylesheet", re.I)


def _source(url: str) -> str:
    """The CSP source allowing exactly this file: the full URL, or 'self' on our own origin."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    return "'self'"


def _hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def explorer_csp(html: str) -> str:
    """Scripts: exactly the files the page names and the hash of its inline script (no
    'unsafe-inline', no 'unsafe-eval': GraphiQL 3's bundle needs neither in a browser with
    globalThis). Styles: the stylesheets it names plus 'unsafe-inline', because GraphiQL's
    dialogs (react-style-singleton) add <style> elements at run time, with a nonce only its own
    bundle could set. Fonts and images of those stylesheets are data: URLs."""
    scripts: dict[str, None] = {}
    styles: dict[str, None] = {}
    for attributes, body in _SCRIPT.findall(html):
        if _SRC.search(attributes) is None:
            scripts[_hash(body)] = None
    for url in _EXTERNAL_SCRIPT.findall(html):
        scripts[_source(url)] = None
    for attributes in _LINK.findall(html):
        href = _HREF.search(attributes)
        if href is not None and _STYLESHEET.search(attributes):
            styles[_source(href.group(1))] = None
    directives = [
        "default-src 'none'",
        "script-src " + (" ".join(scripts) or "'none'"),
        "style-src " + " ".join([*styles, "'unsafe-inline'"]),
        "font-src data:",
        "img-src data:",
        # The explorer's fetches and its subscription WebSocket go to this origin ('self'
        # covers ws/wss of the same host in CSP Level 3).
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_CSP = (b"content-security-policy", API_CSP.encode())
_PRIVATE = (b"cache-control", b"private, no-store")


def _secured(raw: Iterable[tuple[bytes, bytes]], signed_in: bool) -> list[tuple[bytes, bytes]]:
    """A response's raw headers with ours set: each replaces any header of its name, as
    MutableHeaders' assignment does, and is added at the end when there is none (one pass over
    the headers instead of one per header set). The CSP is only added when the answer has
    none (the explorer sends its own); caching becomes private when the request was signed
    in or the answer sets a cookie."""
    headers = list(raw)
    present = {name for name, _ in headers}  # names as sent (lower case, as ASGI asks)
    wanted = list(_ALWAYS)
    if _CSP[0] not in present:
        wanted.append(_CSP)
    if signed_in or b"set-cookie" in present:
        wanted.append(_PRIVATE)
    replaced = {name: value for name, value in wanted if name in present}
    if replaced:
        headers = _replace(headers, replaced)
    headers += [pair for pair in wanted if pair[0] not in present]
    return headers


def _replace(
    headers: list[tuple[bytes, bytes]], replaced: dict[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    """Each header named in `replaced` once, with its new value, where it first was."""
    out: list[tuple[bytes, bytes]] = []
    done: set[bytes] = set()
    for name, value in headers:
        if name in replaced:
            if name not in done:
                done.add(name)
                out.append((name, replaced[name]))
            continue
        out.append((name, value))
    return out


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        signed_in = False
        for name, value in scope.get("headers") or ():
            if name == b"authorization" or (name == b"cookie" and _COOKIE in value):
                signed_in = True
                break

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message.get("headers") or (), signed_in)
            await send(message)

        await self.app(scope, receive, send_with_headers)
