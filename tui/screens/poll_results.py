"""Poll results: a bar chart per poll, drawn with block characters, and each answer."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..palette import SpeakerPalette
from ..poll_view import CHOICE_KINDS, PollView
from ..widgets.poll_chart import bar_chart, histogram


def results_renderable(poll: PollView, palette: SpeakerPalette, width: int = 70) -> Table:
    """The chart, the summary line and the answers of one poll."""
    out = Table.grid(padding=(0, 0))
    out.add_column()
    out.add_row(Text(poll.question, style="bold"))
    kind = f"{poll.kind} · {len(poll.answers)} answers" + (" · private first" if poll.private_first else "")
    out.add_row(Text(kind, style="dim"))
    out.add_row("")
    if poll.kind in CHOICE_KINDS:
        out.add_row(bar_chart(poll.counts(), order=poll.options, width=width))
    elif poll.kind == "number":
        out.add_row(histogram(poll.numbers(), width=width))
    mean, stdev = poll.mean_stdev()
    if mean is not None:
        out.add_row(Text(f"mean {mean:.2f} · sd {stdev or 0:.2f}", style="bold"))
    out.add_row("")
    answers = Table.grid(padding=(0, 1))
    answers.add_column(no_wrap=True)
    answers.add_column(no_wrap=True)
    answers.add_column(ratio=1)
    for answer in poll.answers:
        value = ", ".join(poll.label(answer.value))
        answers.add_row(
            Text(answer.agent, style=palette.style(answer.agent)),
            Text(value, style="bold"),
            Text(answer.rationale, style="dim"),
        )
    out.add_row(answers)
    return out


class PollResultsScreen(ModalScreen[None]):
    """Shows one or more polls' results; escape or q closes it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="troupe.results.close", tooltip="Back to the session")]

    def __init__(self, polls: list[PollView], palette: SpeakerPalette) -> None:
        super().__init__(classes="dialog-screen")
        self.polls = polls
        self.palette = palette

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="poll-results") as box:
            box.border_title = "Poll results"
            box.border_subtitle = "esc close"
            with VerticalScroll():
                if not self.polls:
                    yield Static("No poll has been run yet. Press o to poll the panel.")
                for poll in self.polls:
                    yield Static(results_renderable(poll, self.palette), classes="poll-result")
