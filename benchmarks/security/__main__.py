"""`python -m benchmarks.security`: the security scan's command line (benchmarks.security.cli)."""

import sys

from benchmarks.security.cli import main

sys.exit(main())
