"""No "Did you mean ...?" in errors when introspection is off (issue 11, finding 7).

Suggestions name fields, arguments, types and enum values close to what a client typed, i.e.
they reveal the schema that turning introspection off hides. graphql-core 3.3 has the switch
(`hide_suggestions` on `validate` and `execute`); Strawberry passes neither, so:
- QuietValidationCache validates and caches (sigma_graphql/execution/validation_cache.py) with
  suggestions hidden: fields, arguments, types, enum values and input fields in documents;
- quiet_execute is graphql-core's execute with suggestions hidden: the same in `variables`
  (SigmaSchema uses it for queries and mutations on every transport).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from graphql import execute

from sigma_graphql.execution.validation_cache import DocumentValidationCache


class QuietValidationCache(DocumentValidationCache):
    def __init__(self, maxsize: int = 512) -> None:
        super().__init__(maxsize, quiet=True)


quiet_execute: Callable[..., Any] = partial(execute, hide_suggestions=True)
