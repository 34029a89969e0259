"""Errors a user can fix, and how the command-line scripts report them.

An *expected* failure (a bad flag, a bad config, a missing or corrupt file, a run that cannot go
on) is raised as a :class:`UserError` whose message names the file, key or value and says what to
do. The scripts run their ``main`` through :func:`paddleseg.utils.cli.run_cli`, which prints such
an error as one line (no traceback) and exits with :attr:`UserError.exit_code`: 2 for usage and
config errors (:class:`UsageError`, like argparse), 1 for runtime failures. Anything else is a bug
and keeps its traceback. ``--debug`` or ``PADDLESEG_DEBUG=1`` shows the traceback of user errors too.

The classes also subclass the built-in type a caller would naturally catch where that helps
(e.g. :class:`paddleseg.cvlibs.ConfigError` is a ``ValueError``).
"""
from __future__ import annotations


class UserError(Exception):
    """A runtime failure the user can fix (exit status 1); the message is the whole story."""

    exit_code = 1


class UsageError(UserError):
    """A bad command line or config (exit status 2)."""

    exit_code = 2


class DataError(UserError, RuntimeError):
    """A sample (image / label pair) could not be loaded or transformed; the message names its files."""


class CheckpointError(UserError, RuntimeError):
    """A checkpoint or weights file cannot be read, or does not fit the model."""
