"""`python -m spectator` is `tumble watch`."""

from __future__ import annotations

import sys

from .watch import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
