import os
import sys
import warnings

warnings.filterwarnings("ignore", message=".*No ccache found.*")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Scripts run by path (python tools/x.py) put their own folder first on sys.path, so a subprocess would
# import whichever paddleseg is installed; this makes tests' subprocesses use this checkout's package.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
