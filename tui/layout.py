"""Where the persona panes go: a pure function from panel size and terminal size to a grid.

Kept apart from the widgets so the rule is easy to read and to test: panes get a bit more
than half of the rows left after the header, control bar and footer; the feed keeps the
rest. When the panes would be too short to show a badge and a line of text inside a border,
they collapse to one line each (compact), which is how twelve personas fit at 80×24.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_PANE_WIDTH = 30
"""Narrower than this, a name and a descriptor no longer fit in the border title."""
COMFORTABLE_HEIGHT = 6
MIN_FULL_HEIGHT = 4
"""Border (2) + badge + one line of text."""
MAX_PANE_HEIGHT = 8
TALL_TERMINAL = 45
"""From this many rows, panes take their whole share of the height (no cap at 8 rows)."""
USEFUL_WIDTH = 56
"""Wider than this, a pane's lines only get longer, not more useful: prefer another column."""
COMPACT_PANE_WIDTH = 40
MIN_FEED_ROWS = 5


@dataclass(frozen=True)
class GridPlan:
    columns: int
    rows: int
    pane_height: int
    compact: bool

    @property
    def height(self) -> int:
        return self.rows * self.pane_height


def plan_grid(count: int, width: int, height: int) -> GridPlan:
    """Lay out ``count`` panes in ``width`` columns and ``height`` rows shared with the feed.

    Among layouts with comfortable panes, picks the one that shows the most text (pane width
    up to :data:`USEFUL_WIDTH` × height), the shorter grid on a tie; failing that the tallest
    panes that still show a bordered badge and a line; failing that one-line compact rows.
    """
    count = max(1, count)
    budget = max(1, min(int(height * 0.6), height - MIN_FEED_ROWS))
    options: list[tuple[int, int, int]] = []
    for columns in range(1, count + 1):
        if columns > 1 and width // columns < MIN_PANE_WIDTH:
            break
        rows = math.ceil(count / columns)
        options.append((columns, rows, budget // rows))
    comfortable = [o for o in options if o[2] >= COMFORTABLE_HEIGHT]
    if comfortable:

        def useful_area(option: tuple[int, int, int]) -> tuple[int, int]:
            columns, rows, pane_height = option
            shown = min(pane_height, MAX_PANE_HEIGHT)
            return min(width // columns, USEFUL_WIDTH) * shown, -rows * shown

        columns, rows, pane_height = max(comfortable, key=useful_area)
        cap = pane_height if height >= TALL_TERMINAL else MAX_PANE_HEIGHT
        return GridPlan(columns, rows, min(pane_height, cap), compact=False)
    usable = [o for o in options if o[2] >= MIN_FULL_HEIGHT]
    if usable:
        columns, rows, pane_height = max(usable, key=lambda o: (o[2], -o[0]))
        return GridPlan(columns, rows, min(pane_height, MAX_PANE_HEIGHT), compact=False)
    columns = max(1, min(count, width // COMPACT_PANE_WIDTH))
    return GridPlan(columns, math.ceil(count / columns), 1, compact=True)
