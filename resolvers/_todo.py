"""Marker for resolvers not written yet: fails loudly (masked as an internal error)."""

from typing import NoReturn


def todo(name: str) -> NoReturn:
    raise NotImplementedError(f"{name} is not implemented yet")
