"""The optimizer package stays pure: OR-Tools, numpy and the standard library only."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.database_independent


def test_importing_the_optimizer_loads_neither_flask_nor_sqlalchemy():
    probe = (
        "import sys, mentor_match.optimizer, mentor_match.optimizer.__main__, "
        "mentor_match.optimizer.cli, mentor_match.optimizer.interrupts\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'flask', 'sqlalchemy', 'flask_sqlalchemy', 'wtforms'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
