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
            # A loop and list comprehensions, not generators: every request writes this line,
            # and a generator costs a resumption per item.
            pairs = []
            for key, value in fields.items():
                if value is None:
                    continue
                if isinstance(value, dict):
                    pairs.append(f"{key}=" + ",".join([f"{k}:{v}" for k, v in value.items()]))
                else:
                    pairs.append(f"{key}={value!s}")
            line = f"{line} {' '.join(pairs)}"
        return line


def formatter(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format == "json" else TextFormatter()


def configure(settings: Settings) -> None:
    """Gives every handler of the root logger the configured format (the serve command and the
    application lifespan; idempotent), and stops records from collecting what no format of
    ours prints (the logging cookbook's "Optimization"): the calling file and line (a walk up
    the stack per record), the thread and the process. About 30 Python calls of every request's
    log line. A format set by hand with %(lineno)d, %(thread)d or %(process)d then shows
    placeholders (None, "(unknown file)")."""
    logging._srcfile = None  # type: ignore[attr-defined]  # the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
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
