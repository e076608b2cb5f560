"""Everything about one persona: card, memory summary, private poll answers and airtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from troupe.core.card import PersonaCard
from troupe.core.poll_stats import Answer, PollResult

from ..text import one_line, plain, plain_text


@dataclass
class PersonaDetail:
    """What the dialog shows, gathered by the session screen."""

    card: PersonaCard
    colour: str
    memory_summary: str
    answers: list[tuple[PollResult, Answer]] = field(default_factory=list)
    turns: int = 0
    words: int = 0
    share: float = 0.0
    """Share of the room's words (``core/dynamics.py``: the numbers of the panes and /dynamics)."""
    paused: bool = False
    muted: bool = False


def _traits(traits: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for key, value in traits.items():
        shown = (
            ", ".join(map(str, value))
            if isinstance(value, list)
            else (f"{value:.2f}" if isinstance(value, float) else str(value))
        )
        table.add_row(plain_text(str(key)), plain_text(shown))
    return table


def airtime_line(detail: PersonaDetail) -> Text:
    flags = " · paused" if detail.paused else ""
    flags += " · muted" if detail.muted else ""
    turns = f"{detail.turns} turn{'' if detail.turns == 1 else 's'}"
    return Text(f"{turns} · {detail.words:,} words · {detail.share:.0%} of the room{flags}")


class PersonaDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="troupe.detail.close", tooltip="Back to the session")]

    def __init__(self, detail: PersonaDetail) -> None:
        super().__init__(classes="dialog-screen")
        self.detail = detail

    def compose(self) -> ComposeResult:
        d = self.detail
        with Vertical(classes="dialog", id="persona-detail") as box:
            box.border_title = plain(one_line(f"{d.card.name} · {d.card.descriptor}"))
            box.border_subtitle = "esc close"
            box.styles.border_title_color = d.colour
            with VerticalScroll():
                yield Static(Text("Airtime", style="bold"))
                yield Static(airtime_line(d), id="detail-airtime")
                yield Static(Text("\nMemory summary", style="bold"))
                yield Static(plain(d.memory_summary or "(nothing consolidated yet)"), id="detail-memory")
                yield Static(Text("\nPoll answers", style="bold"))
                yield Static(self._answers(), id="detail-answers")
                if d.card.traits:
                    yield Static(Text("\nTraits", style="bold"))
                    yield Static(_traits(d.card.traits))
                yield Static(Text("\nCard (the persona's prompt)", style="bold"))
                yield Static(plain_text(d.card.prompt), id="detail-card")

    def _answers(self) -> Text | Table:
        if not self.detail.answers:
            return Text("(no polls answered)", style="dim")
        table = Table.grid(padding=(0, 1))
        table.add_column(ratio=2)
        table.add_column(style="bold")
        table.add_column(ratio=2, style="dim")
        for poll, answer in self.detail.answers:
            privacy = "" if answer.revealed else " (private)"
            table.add_row(
                plain_text(poll.question), plain_text(answer.display() + privacy), plain_text(answer.rationale)
            )
        return table
