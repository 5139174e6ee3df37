"""The JSON log formatter: one object per line, extras kept, nothing meant for a terminal."""

from __future__ import annotations

import contextvars
import json
import logging

import uvicorn
from asgi_correlation_id import correlation_id

from graphql_api.auth import Caller, current_caller
from graphql_api.logs import JsonFormatter, RequestContextFilter, configure_logging

ESC = "\x1b"


class Lines(logging.Handler):
    """Keeps what the JSON formatter writes, line by line."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def formatted(message: str, *args: object, **extra: object) -> str:
    record = logging.LogRecord("coupons", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return JsonFormatter().format(record)


def test_uvicorns_coloured_copy_of_a_message_is_dropped():
    # given uvicorn's own start-up line, which carries a coloured copy as `color_message`
    config = uvicorn.Config("graphql_api.app:create_app", port=0, log_config=None)
    lines = Lines()
    logger = logging.getLogger("uvicorn.error")
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        # when uvicorn binds a socket and says so
        config.bind_socket().close()
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)

    # then the line has the plain message only
    (line,) = lines.lines
    entry = json.loads(line)
    assert entry["message"].startswith("Uvicorn running on http://127.0.0.1:")
    assert "color_message" not in entry
    assert ESC not in line
    assert "\\u001b" not in line


def test_escape_codes_never_reach_the_log():
    class Shouty:
        def __str__(self) -> str:
            return f"{ESC}[1mloud{ESC}[0m"

    # when a message, an extra and an unserialisable extra carry colours, a link and a title
    line = formatted(
        f"{ESC}[31mred{ESC}[0m and %s",
        f"{ESC}]8;;https://example.com{ESC}\\link{ESC}]8;;{ESC}\\",
        detail=f"{ESC}]0;title\x07{ESC}[2Kplain",
        thing=Shouty(),
    )

    # then the text is there and the escapes are not, neither raw nor JSON-escaped
    assert ESC not in line
    assert "\\u001b" not in line
    assert "\\u0007" not in line
    entry = json.loads(line)
    assert entry["message"] == "red and link"
    assert entry["detail"] == "plain"
    assert entry["thing"] == "loud"


def test_other_extras_are_kept_as_they_are():
    # when
    entry = json.loads(formatted("request", request_id="abc-1", status=200, duration_ms=1.5))

    # then
    assert (entry["request_id"], entry["status"], entry["duration_ms"]) == ("abc-1", 200, 1.5)
    assert entry["level"] == "info"
    assert entry["logger"] == "coupons"


def filtered(request_id: str | None, caller: Caller | None) -> dict[str, object]:
    """The JSON line of a record from code that knows nothing of requests, logged while the
    context variables hold `request_id` and `caller`."""

    def log() -> dict[str, object]:
        correlation_id.set(request_id)
        current_caller.set(caller)
        record = logging.LogRecord("anyone", logging.WARNING, __file__, 1, "hello", None, None)
        assert RequestContextFilter().filter(record)
        return dict(json.loads(JsonFormatter().format(record)))

    return contextvars.copy_context().run(log)  # the variables stay in the copy


def test_a_line_written_during_a_request_names_the_request_and_the_role():
    entry = filtered("req-7", Caller("storefront"))
    assert (entry["request_id"], entry["role"]) == ("req-7", "storefront")
    assert entry["message"] == "hello"


def test_a_line_written_outside_a_request_has_neither():
    entry = filtered(None, None)
    assert "request_id" not in entry
    assert "role" not in entry


def test_the_logging_setup_installs_the_filter_on_the_json_handler():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("info")
        json_handlers = [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]
        assert json_handlers
        for handler in json_handlers:
            assert any(isinstance(f, RequestContextFilter) for f in handler.filters)
    finally:
        root.setLevel(level)
        for handler in set(root.handlers) - set(handlers):
            root.removeHandler(handler)
