"""`uvicorn sigma_graphql.server.asgi:app`: the app built from SIGMA_* settings.

A bad setting stops start-up with one line naming it.
"""

from __future__ import annotations

import sys

from sigma_graphql.core.settings import SettingsError, load_settings
from sigma_graphql.server.app import create_app

try:
    _settings = load_settings()
except SettingsError as exc:
    print(f"sigma-graphql: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

app = create_app(_settings)
