"""The matching-round optimizer: a round problem in, a scheduled solution out.

Pure: OR-Tools, numpy and the standard library only; no Flask, no SQLAlchemy. The rounds
feature encodes database rows into the round format (../shared/round-format.md) and
decodes the solution back.
"""

from .problem import ProblemError, load_problem
from .solve import Cancelled, Progress, solve

__all__ = ["Cancelled", "ProblemError", "Progress", "load_problem", "solve"]
