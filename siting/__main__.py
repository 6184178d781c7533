"""``python -m siting``: the command line (see :mod:`siting.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
