"""A report's table: its columns and cells, written the same on the page and in its CSV file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum

from .period import Period

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    """How a column's values are written, the same on the page and in the CSV."""

    TEXT = "text"
    COUNT = "count"
    HOURS = "hours"
    PERCENT = "percent"
    RATIO = "ratio"


Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    label: str
    kind: Kind = Kind.TEXT

    @property
    def numeric(self) -> bool:
        return self.kind is not Kind.TEXT

    def text(self, value: Cell) -> str:
        """The value as shown: hours and ratios to 2 decimals, shares to 1; None is blank."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if self.kind is Kind.COUNT:
            return str(int(value))
        if self.kind is Kind.PERCENT:
            return f"{value:.1f}"
        return f"{value:.2f}"


@dataclass(frozen=True)
class ReportTable:
    """One report: its columns, its rows and, for some, a total row, ready to show or export."""

    slug: str
    title: str
    explanation: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    total: tuple[Cell, ...] | None = None

    def _texts(self, row: tuple[Cell, ...]) -> list[str]:
        return [column.text(value) for column, value in zip(self.columns, row, strict=True)]

    @property
    def header(self) -> list[str]:
        return [column.label for column in self.columns]

    @property
    def text_rows(self) -> list[list[str]]:
        return [self._texts(row) for row in self.rows]

    @property
    def text_total(self) -> list[str] | None:
        return self._texts(self.total) if self.total is not None else None


def share(part: float, whole: float) -> float | None:
    """`part` as a percentage of `whole`; None when there is no whole to share."""
    return part / whole * 100 if whole else None


def per(amount: float, count: int) -> float | None:
    return amount / count if count else None


def spreadsheet_safe(text: str) -> str:
    """Quote a cell a spreadsheet would otherwise run as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_bytes(table: ReportTable) -> bytes:
    """The table as CSV: a header row, its rows, its total; UTF-8 with a BOM for Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    lines = [table.header, *table.text_rows]
    if table.text_total is not None:
        lines.append(table.text_total)
    writer.writerows([spreadsheet_safe(cell) for cell in line] for line in lines)
    return buffer.getvalue().encode("utf-8-sig")


def csv_filename(table: ReportTable, period: Period) -> str:
    return f"mentor-match-{table.slug}-{period.slug}.csv"
