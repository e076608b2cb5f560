"""The grid of persona panes, re-laid out whenever the terminal changes size.

The grid owns which persona is *selected* (the target of ``p``, ``m`` and ``enter``): the
last pane that had focus, marked with the ``-selected`` class, so the selection survives
while the moderator types in the control bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.binding import Binding
from textual.containers import Container

from troupe.core import events as ev
from troupe.core.events import Event

from ..layout import GridPlan, plan_grid
from ..verbs import panel_bindings, typing_bindings
from .persona_pane import PersonaPane

FLAGS: dict[type[Event], tuple[bool | None, bool | None]] = {
    ev.AgentPaused: (True, None),
    ev.AgentResumed: (False, None),
    ev.AgentMuted: (None, True),
    ev.AgentUnmuted: (None, False),
}
"""What each event does to a pane's (paused, muted) flags; None leaves one as it is."""


class PersonaGrid(Container, can_focus=False):
    """Holds one :class:`PersonaPane` per seated persona."""

    BINDINGS = [
        *panel_bindings(),
        *typing_bindings("troupe"),
        Binding("left", "move(-1, 0)", "Previous", show=False),
        Binding("right", "move(1, 0)", "Next", show=False),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
    ]

    def __init__(self, panes: Iterable[PersonaPane]) -> None:
        super().__init__(id="grid")
        self._panes = list(panes)
        self.plan: GridPlan | None = None
        self.selected: PersonaPane | None = self._panes[0] if self._panes else None

    def compose(self):  # type: ignore[override]
        yield from self._panes

    def on_mount(self) -> None:
        if self.selected is not None:
            self.selected.add_class("-selected")

    @property
    def panes(self) -> list[PersonaPane]:
        return self._panes

    def pane(self, name: str) -> PersonaPane | None:
        return next((p for p in self._panes if p.persona == name), None)

    def fold(self, events: Iterable[Event]) -> None:
        """Show the personas' turns, pauses and mutes among ``events`` in their panes (the
        session screen and the watch screen draw the panes from the log the same way)."""
        for event in events:
            if type(event) in FLAGS:  # paused / muted, as the log says (the watch screen's only source)
                flagged = self.pane(event.agent)
                if flagged is not None:
                    paused, muted = FLAGS[type(event)]
                    flagged.set_flags(
                        paused=flagged.paused if paused is None else paused,
                        muted=flagged.muted if muted is None else muted,
                        turns=flagged.turns,
                    )
            elif isinstance(event, (ev.Say, ev.Think, ev.Pass, ev.Error)) and event.agent:
                pane = self.pane(event.agent)
                if pane is None:
                    continue
                if isinstance(event, ev.Say):
                    pane.add_said(event.text, event.feeling)
                elif isinstance(event, ev.Think):
                    pane.add_thought(event.text)
                elif isinstance(event, ev.Pass):
                    pane.add_pass()
                elif not event.recovered:
                    pane.set_activity("error", None)

    def show_airtime(self, events: Sequence[Event]) -> None:
        """Turns, words and share of the room on each pane, and who is silent this section:
        computed from the whole log by ``core/dynamics.py`` (the details screen's numbers)."""
        from troupe.core.dynamics import airtime, silent_in_section

        silent = set(silent_in_section(events))
        for row in airtime(events).rows:
            pane = self.pane(row.agent)
            if pane is not None:
                pane.set_airtime(row.turns, row.words, row.share, silent=row.agent in silent)

    def apply_plan(self, width: int, height: int) -> GridPlan:
        """Lay the panes out for a region of ``width`` × ``height`` shared with the feed."""
        plan = plan_grid(len(self._panes), width, height)
        if plan != self.plan:
            self.plan = plan
            self.styles.grid_size_columns = plan.columns
            self.styles.grid_size_rows = plan.rows
            self.styles.grid_rows = str(plan.pane_height)
            self.styles.height = plan.height
            for pane in self._panes:
                pane.set_compact(plan.compact)
        return plan

    def select(self, pane: PersonaPane) -> None:
        if self.selected is not pane:
            if self.selected is not None:
                self.selected.remove_class("-selected")
            self.selected = pane
            pane.add_class("-selected")

    def on_persona_pane_selected(self, message: PersonaPane.Selected) -> None:
        self.select(message.pane)

    def action_move(self, dx: int, dy: int) -> None:
        if not self._panes:
            return
        current = self._panes.index(self.selected) if self.selected in self._panes else 0
        columns = self.plan.columns if self.plan else 1
        target = max(0, min(len(self._panes) - 1, current + dx + dy * columns))
        self._panes[target].focus()
