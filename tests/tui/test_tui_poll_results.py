"""The poll results dialog: free text in full, multi-choice shares of respondents, number medians.

The dialog is opened on polls read from a log with :func:`troupe.core.poll_stats.collect_polls`,
in an app styled by the real ``troupe.tcss`` (the dialog's width is the one users get)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.containers import VerticalScroll
from textual.widgets import Static

from troupe.core.events import Event, parse_event
from troupe.core.poll_stats import collect_polls
from troupe.tui.palette import SpeakerPalette
from troupe.tui.screens.poll_results import PollResultsScreen

TCSS = Path(__file__).resolve().parents[2] / "tui" / "troupe.tcss"
PEOPLE = ["Maria Lopez", "Tom Becker", "Aiko Sato", "Kwame Mensah", "Lena Vogel", "Omar Haddad"]
LONG = (
    "I would want it in the chilled aisle next to the fresh juices, in a glass bottle I can reuse, "
    "with the tomatoes' origin on the label and no added sugar; if it tasted like the gazpacho my "
    "grandmother made in July I would buy two a week and take one to work. THE-END-OF-MARIA"
)


def log() -> list[Event]:
    seq = iter(range(1, 1000))

    def e(type: str, **fields) -> Event:
        return parse_event({"seq": next(seq), "ts": "2026-01-01T00:00:00Z", "type": type, **fields})

    out = [
        e(
            "poll_asked",
            poll_id="wish",
            question="What would make you buy it?",
            kind="text",
            options=None,
            private_first=True,
        ),
        e("poll_answer", poll_id="wish", agent="Maria Lopez", value=LONG, rationale="Taste first.", revealed=False),
        e(
            "poll_answer",
            poll_id="wish",
            agent="Tom Becker",
            value="Nothing, I dislike cold soup. THE-END-OF-TOM",
            rationale="Soup is hot.",
            revealed=False,
        ),
        e(
            "poll_asked",
            poll_id="where",
            question="Where do you shop?",
            kind="multi",
            options=["Supermarket", "Online", "Market"],
            private_first=True,
        ),
    ]
    picks = [
        ["Supermarket", "Online"],
        ["Online"],
        ["Supermarket", "Market"],
        ["Online", "Market"],
        ["Supermarket"],
        ["Market"],
    ]  # 6 respondents, 9 mentions: each option 3 of 6 = 50 %
    out += [
        e("poll_answer", poll_id="where", agent=p, value=v, rationale="", revealed=False) for p, v in zip(PEOPLE, picks)
    ]
    out.append(
        e("poll_asked", poll_id="bottles", question="Bottles a week?", kind="number", options=None, private_first=True)
    )
    for person, value in zip(PEOPLE, [7, 8, 8, 9, 10, 12]):
        out.append(e("poll_answer", poll_id="bottles", agent=person, value=value, rationale="", revealed=False))
    return out


class ResultsApp(App[None]):
    CSS_PATH = str(TCSS)

    def on_mount(self) -> None:
        self.push_screen(PollResultsScreen(collect_polls(log()), SpeakerPalette(PEOPLE)))


def _plain(static: Static) -> str:
    """What ``static`` shows, as plain lines at its laid-out width."""
    lines = static.render_lines(static.region.reset_offset)
    return "\n".join(strip.text for strip in lines)


async def test_free_text_answers_are_shown_in_full_wrapped_inside_the_dialog() -> None:
    app = ResultsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        first = app.screen.query(Static).filter(".poll-result").first()
        text = _plain(first)
        assert "THE-END-OF-MARIA" in text and "THE-END-OF-TOM" in text  # nothing cut off
        words = " ".join(text.split())
        assert " ".join(LONG.split()) in words  # every word, in order, wrapped over lines
        dialog = app.screen.query_one("#poll-results")
        assert max(len(line.rstrip()) for line in text.splitlines()) <= dialog.region.width
        assert "Maria Lopez" in text and "Tom Becker" in text  # all answers in the one view
        scroll = app.screen.query_one(VerticalScroll)
        assert scroll.max_scroll_y > 0  # three polls do not fit: the view scrolls
        scroll.scroll_end(animate=False)
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y


async def test_multi_choice_shows_shares_of_respondents_and_number_polls_their_median() -> None:
    app = ResultsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        _, multi, number = app.screen.query(Static).filter(".poll-result")
        multi_text = _plain(multi)
        for option in ("Supermarket", "Online", "Market"):
            line = next(line for line in multi_text.splitlines() if line.startswith(option))
            assert "3 ( 50%)" in line  # 3 of 6 respondents, though there were 9 mentions
        assert "Online, Market" in multi_text  # an answer as text, not ['Online', 'Market']
        number_text = _plain(number)
        bins = [line.split()[0] for line in number_text.splitlines() if "%)" in line]
        assert bins == ["7", "8", "9", "10", "11", "12"]  # integer bins, not 7–7.83
        median_line = next(line for line in number_text.splitlines() if "◀ median" in line)
        assert median_line.split()[0] == "8"  # half the answers are reached in the 8 bin (median 8.5)
        assert "Median 8.5" in number_text and "Mean 9.00" in number_text
