"""Poll results: a bar chart per poll, drawn with block characters, and each answer."""

from __future__ import annotations

from collections.abc import Callable

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
        polls: list[PollView],
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
