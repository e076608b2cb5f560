"""Poll results: per poll a bar chart drawn with block characters, the statistics and every answer.

Everything shown comes from :mod:`troupe.core.poll_stats` — the numbers the exports and the
report show for the same log. Free-text answers are shown in full, wrapped, one under the other,
so the whole panel's answers read in one scrollable view. Every text that came from the guide,
the moderator or a persona is a :class:`~rich.text.Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from troupe.core.poll_stats import PollResult

from ..palette import SpeakerPalette
from ..widgets.poll_chart import poll_chart


def heading_line(poll: PollResult) -> Text:
    """``multi · 6 answers · 1 failed · private first``."""
    parts = [poll.kind, f"{poll.n} answer" + ("" if poll.n == 1 else "s")]
    if poll.failed:
        parts.append(f"{len(poll.failed)} failed")
    if poll.private_first:
        parts.append("private first")
    return Text(" · ".join(parts), style="dim")


def stats_line(poll: PollResult) -> Text:
    """``Mean 3.40 · Median 3 · SD 1.14 · 95 % CI 2.10–4.70 · n 5`` (the exports' figures)."""
    out = Text()
    for i, (name, value) in enumerate(poll.stats()):
        if i:
            out.append(" · ", style="dim")
        out.append(f"{name} ", style="dim")
        out.append(value, style="bold")
    return out


def answers_renderable(poll: PollResult, palette: SpeakerPalette) -> RenderableType:
    """Every answer. Free text: each in full, wrapped, under its author's name. Other kinds: a
    table of participant, answer and reason (wrapping, never cut off)."""
    failed = [
        Text.assemble((name, palette.style(name)), ("  no answer (failed)", "dim italic")) for name in poll.failed
    ]
    if poll.kind == "text":
        blocks: list[RenderableType] = []
        for answer in poll.answers:
            blocks.append(Text(answer.agent, style=palette.style(answer.agent)))
            blocks.append(Padding(Text(answer.display()), (0, 0, 0, 2)))
            if answer.rationale:
                blocks.append(Padding(Text(answer.rationale, style="dim italic"), (0, 0, 0, 2)))
            blocks.append(Text(""))
        return Group(*blocks, *failed)
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    table.add_column(ratio=2)
    for answer in poll.answers:
        table.add_row(
            Text(answer.agent, style=palette.style(answer.agent)),
            Text(answer.display(), style="bold"),
            Text(answer.rationale, style="dim"),
        )
    return Group(table, *failed)


def results_renderable(poll: PollResult, palette: SpeakerPalette, width: int = 70) -> Group:
    """The question, the chart, the statistics line and the answers of one poll."""
    rows: list[RenderableType] = [Text(poll.question, style="bold"), heading_line(poll), Text("")]
    chart = poll_chart(poll, width=width)
    if chart is not None:
        rows.append(chart)
    rows += [stats_line(poll), Text(""), answers_renderable(poll, palette)]
    return Group(*rows)


class PollResultsScreen(ModalScreen[None]):
    """Shows one or more polls' results; escape or q closes it.

    With ``discuss`` (a callback taking a poll id) and a revealed private-first poll among
    those shown, ``d`` closes the dialog and runs a round discussing that poll's results.
    """

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="troupe.results.close", tooltip="Back to the session"),
        Binding(
            "d",
            "discuss",
            "Discuss the results",
            id="troupe.results.discuss",
            tooltip="A round in which the panel discusses these results",
        ),
    ]

    def __init__(
        self,
        polls: list[PollResult],
        palette: SpeakerPalette,
        *,
        revealed: frozenset[str] = frozenset(),
        discuss: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.polls = polls
        self.palette = palette
        self.discuss = discuss
        self.discussable = next((p.poll_id for p in polls if p.private_first and p.poll_id in revealed), None)
        """The first poll shown whose private answers were revealed to the room (``d`` discusses it)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "discuss":
            return self.discuss is not None and self.discussable is not None
        return True

    def action_discuss(self) -> None:
        poll_id, discuss = self.discussable, self.discuss
        self.dismiss()
        if poll_id is not None and discuss is not None:
            discuss(poll_id)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="poll-results") as box:
            box.border_title = "Poll results"
            box.border_subtitle = (
                "d discuss the results · esc close" if self.discussable and self.discuss else "esc close"
            )
            with VerticalScroll():
                if not self.polls:
                    yield Static("No poll has been run yet. Press o to poll the panel.")
                for poll in self.polls:
                    yield Static(results_renderable(poll, self.palette), classes="poll-result")
