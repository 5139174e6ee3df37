"""How a `coupons` command fails: one line on stderr and an exit status scripts can use."""

from __future__ import annotations

import click


class CommandFailed(click.ClickException):
    """Failed while working (the database, a job): one line on stderr, exit status 1."""


class CommandRefused(CommandFailed):
    """Refused before anything was done or written (arguments, settings, a campaign that
    takes no codes, a file that will not do): exit status 2, as for a bad command line."""

    exit_code = 2
