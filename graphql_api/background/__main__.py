"""`python -m graphql_api.background SERVE_PID`: the worker `coupons serve` runs beside itself.

It stops with serve, or by itself once the process SERVE_PID is gone. On its own, run
`coupons worker`.
"""

import sys

from graphql_api.background.worker import main

# Handed over rather than read with getppid(): serve may be gone before this line runs.
main(parent_pid=int(sys.argv[1]))
