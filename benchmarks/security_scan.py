"""`python -m benchmarks.security_scan`, the security scan's first command, kept so that notes
and scripts that name it still run: the scan is the benchmarks.security package."""

import sys

from benchmarks.security.cli import main

if __name__ == "__main__":
    sys.exit(main())
