"""`python -m benchmarks [NAME ...]`: the same as `tumble bench`."""

import sys

from benchmarks.cli import main

sys.exit(main(sys.argv[1:]))
