"""The Node tools some tests drive (tests/node: a headless browser's driver, the
GraphQL-over-HTTP audit, a Federation gateway, code generation and tsc).

`.ci/run` installs them with `npm ci` and sets CI=true. Elsewhere a test that needs them is
skipped when Node or the packages are missing; in CI it fails instead, so a broken install
can never pass as a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import REPO

NODE_DIR = REPO / "tests" / "node"
MODULES = NODE_DIR / "node_modules"
CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(why: str) -> None:
    if in_ci():
        pytest.fail(f"{why}: .ci/run should have installed it")
    pytest.skip(f"{why} (cd tests/node && npm ci)")


def node_tools(*packages: str) -> Path:
    """tests/node, after checking that `node` and each of `packages` are installed."""
    if shutil.which("node") is None:
        _missing("Node.js is not installed")
    for package in packages:
        if not (MODULES / package / "package.json").exists():
            _missing(f"the npm package {package} is not installed in tests/node")
    return NODE_DIR


def chromium() -> Path:
    """Debian's chromium, which playwright-core drives (its own browser download does not
    work offline)."""
    if not CHROMIUM.exists():
        _missing("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def run_node(script: Path | str, *args: str, timeout: float = 120, **env: str) -> str:
    """Runs a Node script from tests/node and returns what it printed; fails the test with
    its output when it exits non-zero."""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(  # noqa: S603 - our own script, our own arguments
        [node, str(script), *args],
        cwd=NODE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout
