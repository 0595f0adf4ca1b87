"""Padded Markdown tables: readable as Markdown and in a terminal (the matrix table, the timings)."""

from __future__ import annotations

from collections.abc import Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: bool = False) -> list[str]:
    """The table's lines, each column padded to its widest cell; ``numeric``: every column but the first is
    right-aligned (``---:``)."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def right(i: int) -> bool:
        return numeric and i > 0

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(c).rjust(w) if right(i) else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if right(i) else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return [line(header), rule, *(line(row) for row in rows)]
