"""A headless chromium on the GraphiQL page: tests/node/graphiql-browser.mjs, one process
(one browser) per test module, driven one JSON command a line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Any

from tests.support.node import chromium, node_tools

COMMAND_SECONDS = 60


class BrowserError(AssertionError):
    """The browser could not do what a test asked (an element never showed, a timeout)."""


class GraphiQLBrowser:
    """The page's editors and buttons, as a person would use them."""

    def __init__(self) -> None:
        node_tools("playwright-core")
        executable = chromium()
        node = shutil.which("node")
        assert node is not None
        # A file, not a pipe: nobody reads stderr until something went wrong.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by close()
        self._process = subprocess.Popen(  # noqa: S603 - our own script
            [node, "graphiql-browser.mjs"],
            cwd=node_tools(),
            env={**os.environ, "CHROMIUM": str(executable)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def _do(self, command: str, **arguments: Any) -> dict[str, Any]:
        process = self._process
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps({"do": command, **arguments}) + "\n")
        process.stdin.flush()
        # A hung browser fails the test instead of hanging the run.
        timer = threading.Timer(COMMAND_SECONDS, process.kill)
        timer.start()
        try:
            line = process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            self._stderr.seek(0)
            stderr = self._stderr.read()
            raise BrowserError(f"the browser driver stopped during {command!r}:\n{stderr}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.pop("ok"):
            raise BrowserError(f"{command} {arguments}: {answer['error']}")
        return answer

    def open(self, url: str) -> dict[str, Any]:
        """A fresh page (no storage from earlier tests) at `url`, once the editor shows;
        answers `status` and `title`."""
        return self._do("open", url=url)

    def docs(self, *path: str) -> dict[str, Any]:
        """Opens the Docs explorer and follows the links named `path`; answers the
        explorer's `title` and `text`."""
        return self._do("docs", path=list(path))

    def type(self, editor: str, text: str) -> str:
        """Replaces the text of the query, variables or headers editor, as typed."""
        return str(self._do("type", editor=editor, text=text)["value"])

    def run(self) -> dict[str, Any]:
        """Presses the play button; answers the HTTP `status` and the result pane's `value`
        (its text) and `shown` (what is rendered)."""
        return self._do("run")

    def refetch_schema(self) -> int:
        """Presses the re-fetch schema button; answers the introspection's HTTP status."""
        return int(self._do("refetch")["status"])

    def open_settings(self) -> str:
        """Opens and closes the settings dialog; answers its text."""
        return str(self._do("settings")["text"])

    def storage(self, holding: str) -> dict[str, str]:
        """What the page keeps in its origin's localStorage, once it holds `holding`."""
        return dict(self._do("storage", holding=holding)["entries"])

    def report(self) -> dict[str, list[str]]:
        """What the browser saw since `open`: `violations` (securitypolicyviolation events),
        `consoleErrors`, `pageErrors`, `failedRequests`, `foreignRequests` (to another
        origin, refused), `errorResponses` (4xx and 5xx) and every request."""
        return self._do("report")

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._stderr.close()


def problems(report: dict[str, list[str]]) -> dict[str, list[str]]:
    """What went wrong on the page, by kind; {} for a page that loaded and ran cleanly."""
    return {kind: entries for kind, entries in report.items() if kind != "requests" and entries}
