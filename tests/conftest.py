import os
import sys
import warnings

warnings.filterwarnings("ignore", message=".*No ccache found.*")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
