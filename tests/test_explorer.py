"""The explorer page over plain HTTP (issue 14, part 1): it names only files of this origin, they
are served with their content types, production keeps it off, and its npm packages are pinned.

The browser test (tests/test_explorer_browser.py) runs it in headless Chromium.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from sigma_graphql.core.settings import load_settings
from sigma_graphql.server.explorer_page import ASSET_PATH, ASSETS, EXPLORER_DIR
from tests.support import LiveServer

ROOT = Path(__file__).resolve().parents[1]

# Attributes through which HTML makes a browser fetch or navigate.
_URL_ATTRIBUTES = frozenset(
    {"src", "href", "action", "formaction", "data", "poster", "background", "cite", "manifest"}
)


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name in _URL_ATTRIBUTES:
                self.urls.append(value)
            elif name == "srcset":
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name == "style" and "url(" in value:
                self.urls.append(value)
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.urls.append(values.get("content", "").partition("=")[2])
        if tag == "script":
            if "src" in values:
                self.scripts.append(values["src"])
            else:
                self.inline_scripts += 1
        if tag == "link" and values.get("rel") == "stylesheet":
            self.stylesheets.append(values["href"])


def _parse(html: str) -> _Urls:
    parser = _Urls()
    parser.feed(html)
    return parser


def _foreign(page_url: str, url: str) -> bool:
    """True when the browser would fetch url from another origin than the page's."""
    if url.startswith("data:"):
        return False
    target, page = urlsplit(urljoin(page_url, url)), urlsplit(page_url)
    return (target.scheme, target.netloc) != (page.scheme, page.netloc)


@pytest.fixture(scope="session")
def explorer_server(
    explorer_assets: None, server_factory: Callable[..., LiveServer]
) -> Iterator[LiveServer]:
    yield server_factory(graphiql=True)


async def _page(live: LiveServer) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(live.url, headers={"Accept": "text/html"})


def test_the_foreign_url_check_sees_other_hosts() -> None:
    page = "http://127.0.0.1:8000/graphql"
    assert not _foreign(page, "/graphql/explorer/graphiql.min.js")
    assert not _foreign(page, "explorer.css")
    assert not _foreign(page, "data:,")
    for url in (
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.js",
        "//unpkg.com/react.js",
        "http://127.0.0.1:9000/x.js",
        "https://127.0.0.1:8000/x.js",
    ):
        assert _foreign(page, url), url
    found = _parse(
        '<link rel="stylesheet" href="https://cdn.example/x.css"><img srcset="a.png 1x">'
    )
    assert found.urls == ["https://cdn.example/x.css", "a.png"]


async def test_the_page_names_only_this_origin(explorer_server: LiveServer) -> None:
    page = await _page(explorer_server)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    found = _parse(page.text)
    assert found.scripts and found.stylesheets
    foreign = [url for url in found.urls if _foreign(explorer_server.url, url)]
    assert foreign == [], foreign
    # Nothing inline: the policy allows scripts and stylesheets of this origin only.
    assert found.inline_scripts == 0
    policy = dict(
        d.split(" ", 1) for d in page.headers["content-security-policy"].split("; ") if " " in d
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["connect-src"] == "'self'"
    # The page names every served file, and only those.
    named = {urlsplit(u).path for u in found.scripts + found.stylesheets}
    assert named == {f"{ASSET_PATH}/{name}" for name in ASSETS}


async def test_the_files_are_served_with_their_types(explorer_server: LiveServer) -> None:
    page = _parse((await _page(explorer_server)).text)
    async with httpx.AsyncClient(base_url=explorer_server.base) as http:
        for url, media_type in [(u, "text/javascript") for u in page.scripts] + [
            (u, "text/css") for u in page.stylesheets
        ]:
            answer = await http.get(url)
            assert answer.status_code == 200, url
            assert answer.headers["content-type"].split(";")[0] == media_type, url
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert len(answer.content) > 100, url
        # The stylesheets load nothing from elsewhere either (their fonts are data: URLs).
        for url in page.stylesheets:
            css = (await http.get(url)).text
            for ref in css.split("url(")[1:]:
                target = ref.split(")", 1)[0].strip("'\" ")
                assert not _foreign(explorer_server.url, target), (url, target[:80])
        # Only the listed files: nothing else of node_modules, no path tricks.
        for name in ("package.json", "..%2Fpackage-lock.json", "node_modules", "nope.js"):
            assert (await http.get(f"{ASSET_PATH}/{name}")).status_code == 404, name


async def test_production_keeps_the_explorer_off_unless_enabled(
    explorer_assets: None, server_factory: Callable[..., LiveServer]
) -> None:
    secret = "s" * 40
    production = load_settings({"SIGMA_ENV": "production", "SIGMA_SECRET_KEY": secret})
    assert production.graphiql is False
    enabled = load_settings(
        {"SIGMA_ENV": "production", "SIGMA_SECRET_KEY": secret, "SIGMA_GRAPHIQL": "true"}
    )
    assert enabled.graphiql is True
    off = server_factory(environment="production", secret_key=secret, graphiql=False)
    on = server_factory(environment="production", secret_key=secret, graphiql=True)
    async with httpx.AsyncClient() as http:
        page = await http.get(off.url, headers={"Accept": "text/html"})
        asset = await http.get(f"{off.base}{ASSET_PATH}/graphiql.min.js")
        on_page = await http.get(on.url, headers={"Accept": "text/html"})
        on_asset = await http.get(f"{on.base}{ASSET_PATH}/graphiql.min.js")
    assert page.status_code != 200 and "graphiql" not in page.text.lower()
    assert asset.status_code == 404
    assert on_page.status_code == 200 and f"{ASSET_PATH}/graphiql.min.js" in on_page.text
    assert on_asset.status_code == 200


def test_the_npm_packages_are_pinned_with_integrity() -> None:
    manifest = json.loads((EXPLORER_DIR / "package.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert version[0].isdigit() and all(c not in version for c in "^~*<> x"), (name, version)
    lock = json.loads((EXPLORER_DIR / "package-lock.json").read_text())
    packages = {k: v for k, v in lock["packages"].items() if k}
    assert packages
    for path, entry in packages.items():
        assert entry["integrity"].startswith("sha512-"), path
        # Without "resolved" npm takes the package from the configured registry, by name.
        assert entry.get("resolved", "https://registry.npmjs.org/").startswith(
            "https://registry.npmjs.org/"
        ), path
    root = lock["packages"][""]["dependencies"]
    assert root == manifest["dependencies"]
