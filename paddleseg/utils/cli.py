"""Command-line pieces shared by train.py, val.py and the tools."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Callable, List, Optional, Sequence

from .errors import UserError


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and adds ``(default: X)`` to every option whose help does not
    already state its default, so ``--help`` documents each flag with its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.required or not action.option_strings or action.default is argparse.SUPPRESS
                or "default" in text.lower()):
            return text
        if isinstance(action, argparse._StoreTrueAction):
            default = "off"
        elif action.default is None:
            default = "none"
        elif isinstance(action.default, (list, tuple)):
            default = " ".join(map(str, action.default))
        else:
            default = str(action.default)
        return f"{text} (default: {default.replace('%', '%%')})".lstrip()


# The runtime flags every script that runs a model shares, with one spelling each; the other
# spellings in use (TIPC's train_infer_python.txt, older releases) stay accepted as aliases.
RUNTIME_FLAGS = ("--device", "--num_threads", "--debug")


def parse_bool(text: str) -> bool:
    """``True``/``False`` (also 1/0, yes/no, any case) for flags TIPC passes a value to."""
    value = str(text).strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--num_threads`` (aliases ``--cpu_threads``, ``--threads``) and ``--debug``."""
    g = parser.add_argument_group("runtime (the same on every script)")
    g.add_argument("--device", default="auto",
                   help="cpu, gpu or gpu:N; auto = gpu when this Paddle build has CUDA and sees a card, "
                        "else cpu (default: auto)")
    g.add_argument("--num_threads", "--cpu_threads", "--threads", dest="num_threads", type=int, default=None,
                   metavar="N", help="CPU math threads (default: all cores this process may use; Paddle alone "
                                     "would use 1). --cpu_threads (TIPC) and --threads are aliases")
    add_debug_arg(g)


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """``--config`` (required) and ``--opts``."""
    parser.add_argument("--config", required=True, help="YAML config file, PaddleSeg 2.8 format (required)")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="override config keys, e.g. --opts train_dataset.dataset_root=data/x "
                             "model.num_codes=16 (default: none)")


def add_workers_arg(parser: argparse.ArgumentParser) -> None:
    """``--num_workers``: data-loading processes (only on scripts that load a dataset)."""
    parser.add_argument("--num_workers", type=int, default=0, metavar="N",
                        help="data-loading worker processes (default 0: load in the main process)")


def add_common_args(parser: argparse.ArgumentParser, workers: bool = True) -> None:
    """``--config``, ``--opts``, ``--num_workers`` (when ``workers``) and the runtime flags."""
    add_config_args(parser)
    if workers:
        add_workers_arg(parser)
    add_runtime_args(parser)


def add_onednn_arg(parser: argparse.ArgumentParser) -> None:
    """One switch for oneDNN on CPU: ``--enable_mkldnn True|False`` (TIPC's spelling), ``--no_onednn``."""
    parser.add_argument("--enable_mkldnn", dest="onednn", type=parse_bool, nargs="?", const=True,
                        default=True, metavar="True|False",
                        help="CPU: oneDNN kernels on or off (default: True)")
    parser.add_argument("--no_onednn", dest="onednn", action="store_false", help="same as --enable_mkldnn False (default: oneDNN on)")


def add_out_arg(parser: argparse.ArgumentParser, what: str, *aliases: str, default: Optional[str] = None,
                required: bool = False) -> None:
    """``--out``: the result file a script writes (older spellings in ``aliases`` stay accepted)."""
    default_note = "required" if required else f"default: {default or 'none'}"
    parser.add_argument("--out", *aliases, dest="out", default=default, required=required, metavar="PATH",
                        help=f"{what} ({default_note})")


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    """``--debug``: show the Python traceback of expected errors too (same as ``PADDLESEG_DEBUG=1``)."""
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors that are normally one line "
                             "(same as the environment variable PADDLESEG_DEBUG=1; default: off)")


def debug_requested(argv: Optional[Sequence[str]] = None) -> bool:
    """True when ``--debug`` is on the command line or ``PADDLESEG_DEBUG`` is set to a true value."""
    argv = sys.argv[1:] if argv is None else argv
    return "--debug" in argv or os.environ.get("PADDLESEG_DEBUG", "").lower() not in ("", "0", "false", "no")


def announce_preparing(task: str, then: str, importing: str = "PaddlePaddle") -> None:
    """Log ``Preparing <task>: importing <importing>, then <then>`` as a script's first line.

    Importing Paddle and building a model take seconds to minutes on a busy CPU; a script calls
    this right after parsing its flags, before those imports, so the user sees at once what runs.
    """
    from . import logger   # light: the logger imports neither Paddle nor OpenCV
    logger.info(f"Preparing {task}: importing {importing}, then {then}")


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
    Paddle's known-harmless warnings and log lines are silenced first
    (:mod:`paddleseg.utils.quiet`).
    """
    from .quiet import silence_known_noise
    silence_known_noise()   # before main imports Paddle: glog reads its level when Paddle loads
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
