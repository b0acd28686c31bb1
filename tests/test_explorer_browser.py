"""The explorer in a real browser (issue 14, part 1): headless Chromium (Debian's package,
installed by .ci/chromium.sh when missing) driven by Playwright opens /graphql on a live server
with the demo data, runs queries through GraphiQL's editor and run button, signs in with the
cookie session and with a Bearer header, and reads the results in the result pane.

Every request the page makes to another origin is refused and recorded, as on a machine without
internet access; any such request, failed request, answer >= 400 or script error fails the test.
The screenshot goes to .ci/tmp/test-output/ (git-ignored).
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, Route, async_playwright, expect

from db.drivers.handles import Databases
from db.maintenance.migrations import migrate_all
from db.maintenance.seed import seed_demo
from sigma_graphql.core.settings import Settings
from tests.auth_support import LOGIN
from tests.conftest import drop_test_data
from tests.support import LiveServer
from tests.test_explorer import ROOT

CHROMIUM = "/usr/bin/chromium"
OUTPUT = ROOT / ".ci" / "tmp" / "test-output"


@pytest.fixture(scope="module")
def chromium() -> str:
    subprocess.run([str(ROOT / ".ci" / "chromium.sh")], check=True)
    return CHROMIUM


@pytest.fixture(scope="module")
async def demo_server(explorer_assets: None, migrated: Settings) -> AsyncIterator[LiveServer]:
    """A server on a database pair of its own holding the demo data (`seed --demo`), so the
    demo accounts and UMKMs never meet the other tests' data."""
    settings = migrated.with_overrides(
        mongo_db=f"{migrated.mongo_db}_explorer",
        cassandra_keyspace=f"{migrated.cassandra_keyspace}_explorer",
        graphiql=True,
    )
    await migrate_all(settings)
    dbs = Databases.open(settings)
    try:
        await seed_demo(dbs)
    finally:
        await dbs.close()
    live = LiveServer(settings).start()
    yield live
    live.stop()
    await drop_test_data(settings)


async def _run(page: Page, query: str) -> None:
    """Puts query into the query editor (its CodeMirror instance) and presses the run button."""
    await page.evaluate(
        "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)",
        query,
    )
    await page.locator("button.graphiql-execute-button").click()


async def _set_headers(page: Page, headers: str) -> None:
    await page.get_by_role("button", name="Headers").click()
    editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    await expect(editor).to_have_count(1)
    await editor.evaluate("(e, h) => e.CodeMirror.setValue(h)", headers)


async def test_the_explorer_runs_queries_and_signs_in(
    chromium: str, demo_server: LiveServer
) -> None:
    origin = demo_server.base
    foreign: list[str] = []
    failed: list[str] = []
    refused: list[str] = []
    errors: list[str] = []

    def ours(url: str) -> bool:
        return url.startswith(origin + "/") or url.startswith("data:")

    async def only_this_origin(route: Route) -> None:
        if ours(route.request.url):
            await route.continue_()
        else:
            foreign.append(route.request.url)
            await route.abort()

    async with httpx.AsyncClient() as http:  # an ADMIN token for the Bearer step
        login = await http.post(
            demo_server.url,
            json={
                "query": LOGIN,
                "variables": {"email": "admin@sigma-umkm.com", "password": "admin-sigma-2026"},
            },
        )
    admin_token = login.json()["data"]["login"]["token"]
    assert admin_token

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            await context.route("**/*", only_this_origin)
            page = await context.new_page()
            page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
            page.on(
                "response",
                lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            await page.goto(demo_server.url)
            await expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()
            result = page.locator(".graphiql-response")

            # The page's own example runs as it is...
            await page.locator("button.graphiql-execute-button").click()
            await expect(result).to_contain_text("namaUsaha")
            # ...and so does a query typed in, against the demo data.
            await _run(
                page,
                '{ umkms(filter: {search: "Soto"}) { nodes { namaUsaha wilayah { kota } } } }',
            )
            await expect(result).to_contain_text("Soto Cak Har")
            await expect(result).to_contain_text("Malang")
            OUTPUT.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(OUTPUT / "explorer.png"))

            # The explorer plugin lists the schema's root fields (read by introspection).
            await page.get_by_role("button", name="Show GraphiQL Explorer").click()
            await expect(page.locator(".graphiql-explorer-root")).to_contain_text("umkmsNear")

            # Signing in with the login mutation gives this page the HttpOnly session cookie...
            await _run(
                page,
                'mutation { login(input: {email: "owner@sigma-umkm.com", '
                'password: "owner-sigma-2026"}) { user { role } userErrors { code } } }',
            )
            await expect(result).to_contain_text("UMKM_OWNER")
            cookies = {c["name"]: c for c in await context.cookies()}
            assert cookies["session_token"]["httpOnly"] is True
            assert cookies["session_token"]["sameSite"] == "Lax"
            # ...which the explorer's own requests (JSON POSTs) carry.
            await _run(page, "{ signedIn: me { email role } }")
            await expect(result).to_contain_text("signedIn")
            await expect(result).to_contain_text("owner@sigma-umkm.com")

            # CSRF: the requests a cross-site form could send carry the browser's cookie too
            # (sent through the browser context's own client, which shares its cookie jar),
            # and are not the user's: the logout does not happen and the session goes on.
            logout = '{"query": "mutation { logout { ok } }"}'
            for content_type, body in (
                ("text/plain", logout),
                ("application/x-www-form-urlencoded", "query=mutation+%7B+logout+%7B+ok+%7D+%7D"),
            ):
                forged = await context.request.post(
                    demo_server.url, data=body, headers={"Content-Type": content_type}
                )
                assert '"ok":true' not in (await forged.text()).replace(" ", ""), content_type
            await _run(page, "{ stillSignedIn: me { email } }")
            await expect(result).to_contain_text("stillSignedIn")
            await expect(result).to_contain_text("owner@sigma-umkm.com")

            # Without the cookie, a Bearer token in the Headers tab signs the requests in.
            await context.clear_cookies()
            await _set_headers(page, f'{{"Authorization": "Bearer {admin_token}"}}')
            await _run(page, "{ byBearer: me { email role } }")
            await expect(result).to_contain_text("byBearer")
            await expect(result).to_contain_text("admin@sigma-umkm.com")
            await page.screenshot(path=str(OUTPUT / "explorer-bearer.png"))
        finally:
            await browser.close()

    assert foreign == [], foreign
    assert failed == [], failed
    assert refused == [], refused
    assert errors == [], errors
    assert (OUTPUT / "explorer.png").stat().st_size > 0


def test_the_output_folder_is_ignored() -> None:
    # Screenshots must never be committed.
    check = subprocess.run(
        ["git", "check-ignore", "-q", str(OUTPUT / "explorer.png")], cwd=ROOT, check=False
    )
    assert check.returncode == 0
    assert Path(OUTPUT).is_relative_to(ROOT)
