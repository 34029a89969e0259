"""Print a config fully merged (``_base_`` files and overrides applied).

    python tools/print_config.py --config configs/x.yml [--opts a.b=1 ...] [--show_source]

With ``--show_source`` every key is listed with the file (or ``--opts``) that defined it.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, List, Optional

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError

if TYPE_CHECKING:
    from paddleseg.cvlibs.config import Config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter, description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the YAML config file")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="overrides such as model.backbone.output_stride=16")
    parser.add_argument("--show_source", action="store_true",
                        help="list every key with the file that defined it")
    add_debug_arg(parser)
    return parser.parse_args(argv)


def render_sources(cfg: Config) -> str:
    """``key = value    # file`` lines for every leaf, aligned."""
    rows = [(key, repr(value) if isinstance(value, str) else str(value), src)
            for key, value, src in cfg.leaf_items()]
    width = max((len(k) + len(v) + 3 for k, v, _ in rows), default=0)
    return "\n".join(f"{f'{k} = {v}':<{width}}  # {s}" for k, v, s in rows)


def main(argv: Optional[List[str]] = None) -> int:
    """Print the merged config; return 0. A bad config raises ConfigError (exit 2 under run_cli)."""
    args = parse_args(argv)
    from paddleseg.cvlibs.config import Config

    try:
        cfg = Config(args.config, opts=args.opts)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from e
    print(render_sources(cfg) if args.show_source else str(cfg), end="\n")
    return 0


if __name__ == "__main__":
    run_cli(main)
