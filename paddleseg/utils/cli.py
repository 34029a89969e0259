"""Command-line pieces shared by train.py, val.py and the tools."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Callable, List, Optional, Sequence

from .errors import UserError


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--opts``, ``--device``, ``--num_threads``, ``--num_workers``, ``--debug``."""
    parser.add_argument("--config", required=True, help="YAML config file (PaddleSeg 2.8 format)")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="override config keys, e.g. --opts train_dataset.dataset_root=data/x model.num_codes=16")
    parser.add_argument("--device", default="auto", help="cpu, gpu or gpu:N (default: gpu when available)")
    parser.add_argument("--num_threads", type=int, default=None,
                        help="CPU math threads (default: all cores this process may use; Paddle alone would use 1)")
    parser.add_argument("--num_workers", type=int, default=0,
                        help="data-loading worker processes (0 = load in the main process)")
    add_debug_arg(parser)


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    """``--debug``: show the Python traceback of expected errors too (same as ``PADDLESEG_DEBUG=1``)."""
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors that are normally one line "
                             "(same as the environment variable PADDLESEG_DEBUG=1)")


def debug_requested(argv: Optional[Sequence[str]] = None) -> bool:
    """True when ``--debug`` is on the command line or ``PADDLESEG_DEBUG`` is set to a true value."""
    argv = sys.argv[1:] if argv is None else argv
    return "--debug" in argv or os.environ.get("PADDLESEG_DEBUG", "").lower() not in ("", "0", "false", "no")


class Terminated(BaseException):
    """SIGTERM arrived outside a training loop (which handles it itself, with a checkpoint)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM end the script through :func:`run_cli` (one line, exit 143).

    Call it after ``import paddle``: Paddle installs a C handler that prints a stack dump of its
    own on SIGTERM, and this replaces it. Only from the main thread of the main process.
    """
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def run_cli(main: Callable[[Optional[List[str]]], Any], argv: Optional[List[str]] = None) -> None:
    """Run a script's ``main(argv)`` and exit the way the project promises.

    A :class:`~paddleseg.utils.errors.UserError` prints one line, ``<script>: error: <message>``, and
    exits with its ``exit_code`` (2 usage/config, 1 runtime); Ctrl-C and SIGTERM outside training
    (which handles them itself) print one line and exit 130 / 143. Any other exception is a bug: its traceback shows.
    With ``--debug`` / ``PADDLESEG_DEBUG=1`` user errors show their traceback as well.
    """
    prog = os.path.basename(sys.argv[0]) or "paddleseg"
    debug = debug_requested(argv)
    try:
        main(argv)
    except UserError as e:
        if debug:
            raise
        print(f"{prog}: error: {str(e).strip()}", file=sys.stderr, flush=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        sys.exit(130)
    except Terminated:
        if debug:
            raise
        print(f"{prog}: terminated (SIGTERM)", file=sys.stderr, flush=True)
        sys.exit(143)
