"""JSON encoding of pubsub messages that decodes back to the same Python types.

Subscribers read messages as the publisher built them (db/notifications.py publishes a dict with
UUIDs, db/verification_tasks.py a `TaskRow` with datetimes), so a message that crossed processes
through Cassandra must come back identical. Plain JSON loses those types; this codec tags them:
{"$uuid": "..."}, {"$dt": "<isoformat>"} (naive stays naive, aware keeps its offset) and
{"$type": "<name>", "fields": {...}} for dataclasses registered with `message_type`. Only
registered classes are rebuilt: a stored payload never names arbitrary code to run.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")

_TYPES: dict[str, type[Any]] = {}


class EventCodecError(ValueError):
    """A message holds a value this codec cannot carry (or a payload names an unknown type)."""


def message_type(cls: type[T]) -> type[T]:
    """Class decorator: lets instances of this dataclass travel between processes."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    _TYPES[cls.__qualname__] = cls
    return cls


def _tag(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise EventCodecError(f"unsupported message key {key!r}")
            out[key] = _tag(item)
        return out
    if isinstance(value, list | tuple):
        return [_tag(item) for item in value]
    cls = type(value)
    if dataclasses.is_dataclass(value) and _TYPES.get(cls.__qualname__) is cls:
        fields = {f.name: _tag(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$type": cls.__qualname__, "fields": fields}
    raise EventCodecError(f"unsupported message value of type {cls.__name__}")


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$uuid" in value:
        return uuid.UUID(value["$uuid"])
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$type" in value:
        cls = _TYPES.get(value["$type"])
        if cls is None:
            raise EventCodecError(f"unknown message type {value['$type']!r}")
        return cls(**{k: _untag(v) for k, v in value["fields"].items()})
    return {k: _untag(v) for k, v in value.items()}


def encode(message: Any) -> str:
    return json.dumps(_tag(message), separators=(",", ":"), ensure_ascii=False)


def decode(payload: str) -> Any:
    return _untag(json.loads(payload))
