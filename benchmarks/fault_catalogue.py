"""Fault catalogue: bad inputs and faults thrown at the command-line scripts, judged against the
promises of docs/reliability.md (issue 12). The cases and the runner live in benchmarks/faults/.

    python benchmarks/fault_catalogue.py --jobs 2             # every case, two at once (2 cores)
    python benchmarks/fault_catalogue.py --only lock --keep   # cases whose name or kind matches
    python benchmarks/fault_catalogue.py --list               # names, kinds and issue items only
"""
import sys

from faults import main  # benchmarks/faults, beside this script (sys.path[0] when run as a script)

if __name__ == "__main__":
    sys.exit(main())
