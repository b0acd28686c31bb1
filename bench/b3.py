"""B3: the real application, with budgets large enough that the load generator (one client
address) is never rate limited. The cost is still computed and spent on every request."""

from __future__ import annotations

from sigma_graphql.app import create_app
from sigma_graphql.settings import load_settings

_UNLIMITED = ("PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN")

app = create_app(
    load_settings().with_overrides(
        budget_burst={a: 10**15 for a in _UNLIMITED},
        budget_refill_per_s={a: 1e12 for a in _UNLIMITED},
    )
)
