"""`python -m producer`: the same as `tumble produce`."""

from __future__ import annotations

import sys

from .cli import produce_main

if __name__ == "__main__":
    sys.exit(produce_main(sys.argv[1:]))
