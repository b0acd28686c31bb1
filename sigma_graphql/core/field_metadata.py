"""Keys of Strawberry field metadata (`@strawberry.field(metadata={...})`) that the schema's
types set and the execution layer reads; kept here, below both.

INLINE: an inline plan may call the field's resolver (sigma_graphql/execution/fast_execution.py
says which resolvers qualify).
"""

from __future__ import annotations

INLINE = "sigma_inline"
