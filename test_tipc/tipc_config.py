"""Parser for TIPC ``train_infer_python.txt`` files (the layout of Paddle model repositories).

The file is positional: section banners (``====...train_params====...``), then one ``key:value``
line per slot, in a fixed order, with ``##`` separators. Values may hold alternatives separated by
``|`` (``gpu_list:0|0,1``), per-mode values (``--iters:lite_train_lite_infer=20|whole_train_whole_infer=1000``)
and ``null`` placeholders. Tooling addresses lines by number, so the slots below must stay where
they are; :func:`parse` checks that each named slot sits on its standard line.

    python test_tipc/tipc_config.py test_tipc/configs/encnet/train_infer_python.txt [MODE]
"""
from __future__ import annotations

import sys
from typing import Dict, List, Optional

# (0-based line, key) of the slots our scripts read; the key must match (or be the stated banner).
LAYOUT = [
    (0, "===========================train_params==========================="),
    (1, "model_name"), (2, "python"), (3, "gpu_list"), (4, "--device"), (5, "--precision"),
    (6, "--iters"), (7, "--save_dir"),
    (8, "--batch_size"), (9, "--model_path"), (10, "train_model_name"), (11, "train_infer_img_dir"),
    (13, "##"), (14, "trainer"), (15, "norm_train"), (21, "##"),
    (22, "===========================eval_params==========================="), (23, "eval"), (25, "##"),
    (26, "===========================export_params==========================="), (27, "--save_dir"),
    (28, "--model_path"), (29, "norm_export"),
    (35, "===========================infer_params==========================="), (36, "infer_model"),
    (39, "inference"),
    (40, "--device"), (41, "--enable_mkldnn"), (42, "--cpu_threads"), (43, "--batch_size"), (44, "--use_trt"),
    (45, "--precision"), (46, "--config"), (47, "--image_path"), (49, "--benchmark"), (50, "--save_dir"),
    (51, "--model_name"),
]


class TipcConfig:
    """One parsed file: ``lines`` as (key, value) pairs plus lookups by standard slot."""

    def __init__(self, path: str) -> None:
        with open(path) as f:
            raw = [line.rstrip("\n") for line in f]
        while raw and not raw[-1].strip():
            raw.pop()
        self.path = path
        self.lines: List[tuple] = [(line.split(":", 1)[0], line.split(":", 1)[1] if ":" in line else "")
                                   for line in raw]
        problems = []
        for index, key in LAYOUT:
            if index >= len(self.lines):
                problems.append(f"line {index + 1}: missing (expected {key!r})")
            elif (raw[index] if key.startswith("=") or key == "##" else self.lines[index][0]) != key:
                problems.append(f"line {index + 1}: expected {key!r}, found {raw[index]!r}")
        problems += self._trainer_problems() if not problems else []
        if problems:
            raise ValueError(f"{path} does not follow the TIPC layout:\n  " + "\n  ".join(problems))

    def _trainer_problems(self) -> List[str]:
        """Line 15 (``trainer:norm_train``) must name the key of a line 16-21 with a command."""
        trainer = self.value(14)
        commands = {key: value for key, value in self.lines[15:21]}
        if commands.get(trainer, "null") == "null":
            return [f"line 15: trainer {trainer!r} is not the key of a command on lines 16-21"]
        return []

    def value(self, line: int) -> str:
        return self.lines[line][1]

    def alternatives(self, line: int) -> List[str]:
        """``a|b|c`` -> ['a', 'b', 'c']."""
        return self.value(line).split("|")

    def for_mode(self, line: int, mode: str) -> Optional[str]:
        """The value of a per-mode slot (``mode=value|...``) for ``mode``; plain values apply to all."""
        value = self.value(line)
        if "=" not in value:
            return value
        for item in value.split("|"):
            name, _, item_value = item.partition("=")
            if name == mode:
                return item_value
        return None

    def summary(self, mode: str) -> Dict[str, object]:
        return {"model_name": self.value(1), "gpu_list": self.alternatives(3), "iters": self.for_mode(6, mode),
                "batch_size": self.for_mode(8, mode), "train_devices": self.alternatives(4),
                "trainer": self.value(14), "train": self.value(15), "eval": self.value(23),
                "export": self.value(29), "inference": self.value(39), "infer_devices": self.alternatives(40),
                "enable_mkldnn": self.alternatives(41), "cpu_threads": self.alternatives(42),
                "infer_batch_size": self.alternatives(43), "infer_model": self.value(36)}


def parse(path: str) -> TipcConfig:
    return TipcConfig(path)


def main(argv: Optional[List[str]] = None) -> int:
    """Check a txt's layout and print its slots; a bad file is one line on stderr and exit 2."""
    import argparse
    p = argparse.ArgumentParser(description="Check a TIPC train_infer_python.txt against the "
                                            "standard layout and print the slots the runner reads.")
    p.add_argument("txt", help="a train_infer_python.txt")
    p.add_argument("mode", nargs="?", default="lite_train_lite_infer",
                   help="the mode whose per-mode values to show (default lite_train_lite_infer)")
    args = p.parse_args(argv)
    try:
        cfg = parse(args.txt)
    except (OSError, ValueError) as e:
        print(f"tipc_config.py: error: {e}", file=sys.stderr)
        return 2
    for key, value in cfg.summary(args.mode).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
