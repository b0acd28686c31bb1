"""The explorer at GET /graphql (GraphiQL with the explorer plugin), served whole by this server.

Its page (`explorer/explorer.html`) and start-up script (`explorer/sigma-explorer.js`) are ours;
React, GraphiQL and the explorer plugin are the browser bundles of the npm packages pinned in
`explorer/package.json` and `explorer/package-lock.json`, installed by `.ci/explorer.sh`
(`make explorer`, a prerequisite of `make run` and `make test`) with `npm ci`, which checks every
package against the lockfile's integrity hash, into the git-ignored `explorer/node_modules`. So
the page references only this origin (`/graphql/explorer/<name>`) and works without internet
access; `explorer_csp` (security_headers.py) then allows exactly 'self'.

Only the files named in `ASSETS` are served, with their content types (`nosniff` is on every
answer, so a wrong type would stop the browser from running them). When the explorer is off
(`SIGMA_GRAPHIQL`, off in production unless enabled) neither the page nor the files are served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

EXPLORER_DIR = Path(__file__).resolve().parent / "explorer"
NODE_MODULES = EXPLORER_DIR / "node_modules"
ASSET_PATH = "/graphql/explorer"

_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    path: Path
    media_type: str


# Public name -> file. The page names each of them (explorer/explorer.html).
ASSETS: dict[str, Asset] = {
    "react.production.min.js": Asset(NODE_MODULES / "react/umd/react.production.min.js", _JS),
    "react-dom.production.min.js": Asset(
        NODE_MODULES / "react-dom/umd/react-dom.production.min.js", _JS
    ),
    "graphiql.min.js": Asset(NODE_MODULES / "graphiql/graphiql.min.js", _JS),
    "graphiql.min.css": Asset(NODE_MODULES / "graphiql/graphiql.min.css", _CSS),
    "plugin-explorer.umd.js": Asset(
        NODE_MODULES / "@graphiql/plugin-explorer/dist/index.umd.js", _JS
    ),
    "plugin-explorer.css": Asset(NODE_MODULES / "@graphiql/plugin-explorer/dist/style.css", _CSS),
    "sigma-explorer.js": Asset(EXPLORER_DIR / "sigma-explorer.js", _JS),
    "sigma-explorer.css": Asset(EXPLORER_DIR / "sigma-explorer.css", _CSS),
}

_NOT_INSTALLED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sigma-graphql explorer</title></head>
<body><h1>The explorer's files are not installed</h1>
<p>Missing: {missing}. Run <code>make explorer</code> (needs npm and the npm registry once),
then restart the server. The API itself works without them.</p></body></html>
"""


def missing_assets() -> list[str]:
    return [name for name, asset in ASSETS.items() if not asset.path.is_file()]


def explorer_html() -> str:
    """The page, or a page saying what to install: never one that waits for files that are not
    there (the "Loading..." of a page whose scripts cannot load)."""
    missing = missing_assets()
    if missing:
        log.error("explorer assets missing (run `make explorer`): %s", ", ".join(missing))
        return _NOT_INSTALLED.format(missing=", ".join(missing))
    return (EXPLORER_DIR / "explorer.html").read_text(encoding="utf-8")


async def serve_asset(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["name"])
    if asset is None or not asset.path.is_file():
        return PlainTextResponse("Not Found", status_code=404)
    # Revalidated on every load (ETag, Last-Modified): a reinstall with new versions is seen at
    # once, and on loopback the check costs nothing.
    return FileResponse(
        asset.path, media_type=asset.media_type, headers={"Cache-Control": "no-cache"}
    )


def explorer_routes(enabled: bool) -> list[BaseRoute]:
    """The routes of the explorer's files; none when the explorer is off."""
    return [Route(ASSET_PATH + "/{name}", serve_asset, methods=["GET"])] if enabled else []
