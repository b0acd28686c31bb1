"""The log: one line per HTTP request, an extra line for slow operations, and the format of
every line (SIGMA_LOG_FORMAT: json or text).

The request line holds only what the service decided to write: no header, no variable, no
document text (a slow operation is named by the hash of its document), so passwords, tokens and
NIK cannot reach it. Client disconnects are one short line (sigma_graphql/server/app.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

import orjson

from sigma_graphql.core.settings import Settings

REQUESTS = logging.getLogger("sigma_graphql.requests")
SLOW = logging.getLogger("sigma_graphql.slow")
# Attribute of a LogRecord holding the structured fields of a line.
FIELDS = "sigma_fields"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the line's fields, and the
    traceback (if any) as one string."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """The usual `LEVEL logger: message`, with the line's fields as key=value pairs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            pairs = " ".join(f"{k}={_text(v)}" for k, v in fields.items() if v is not None)
            line = f"{line} {pairs}"
        return line


def _text(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def formatter(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format == "json" else TextFormatter()


def configure(settings: Settings) -> None:
    """Gives every handler of the root logger the configured format (the serve command and the
    application lifespan; idempotent)."""
    root = logging.getLogger()
    if not root.handlers:  # a uvicorn worker process: nothing configured the root logger
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        # The console handlers only (those of `sigma-graphql`'s logging.basicConfig or the one
        # above); handlers writing elsewhere (a test runner's capture) keep their format.
        if getattr(handler, "stream", None) in (sys.stderr, sys.stdout):
            handler.setFormatter(formatter(settings))


def write_request(fields: dict[str, Any]) -> None:
    REQUESTS.info("request", extra={FIELDS: fields})


def write_slow(fields: dict[str, Any]) -> None:
    SLOW.warning("slow operation", extra={FIELDS: fields})
