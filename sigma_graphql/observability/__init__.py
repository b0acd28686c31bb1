"""Metrics, traces and the request log line (docs/operations.md).

A layer of its own just above `sigma_graphql.core` (docs/architecture.md, Layers): the database
drivers (`db/drivers/roundtrips.py`), loaders, limits and the server all report here, and this
package imports nothing of ours but `sigma_graphql.core`.
"""
