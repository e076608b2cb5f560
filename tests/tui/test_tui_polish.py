"""Regressions of the polish pass: dialogs that ask only what a kind needs, truthful error
lines, palette entries that say what they will do, poll results that wait for the moderator."""

from __future__ import annotations

from textual.widgets import Input, Select, Static, TextArea

from tests.tui.test_tui_resilience import FailingFor
from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit, tui_config
from troupe.core import events as ev
from troupe.core.errors import BackendError, BackendUnavailableError
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.polls import LIKERT_LABELS
from troupe.tui.launch import new_session_app
from troupe.tui.palette import SpeakerPalette
from troupe.tui.screens.help import HelpScreen
from troupe.tui.screens.poll import PollDialog
from troupe.tui.screens.poll_results import PollResultsScreen
from troupe.tui.screens.session import SessionScreen
from troupe.tui.screens.stimulus import StimulusDialog
from troupe.tui.widgets import control_bar
from troupe.tui.widgets.feed import feed_row

SIZE = (120, 40)


def app_for(guide, cards, tmp_path, backend=None):
    run_dir = tmp_path / "run"
    app = new_session_app(
        guide, cards, backend or ScriptedBackend(seed=3), run_dir, seed=3, config=tui_config(tmp_path)
    )
    return app, run_dir


def error_text(dialog) -> str:
    return str(dialog.query_one("#dialog-error", Static).content)


def shown(dialog, *ids: str) -> dict[str, bool]:
    return {i: dialog.query_one(f"#{i}").display for i in ids}


async def choose(pilot, dialog, select_id: str, value: str) -> None:
    dialog.query_one(f"#{select_id}", Select).value = value
    await pilot.pause()  # Select.Changed shows and hides the fields


# -- 1. the stimulus dialog ------------------------------------------------------------------

STIMULUS_FIELDS = ("stimulus-title-field", "stimulus-path-field")


async def test_stimulus_dialog_shows_only_the_fields_of_the_chosen_kind(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        assert isinstance(dialog, StimulusDialog)
        assert shown(dialog, *STIMULUS_FIELDS) == {"stimulus-title-field": False, "stimulus-path-field": False}
        await choose(pilot, dialog, "stimulus-kind", "concept")
        assert shown(dialog, *STIMULUS_FIELDS) == {"stimulus-title-field": True, "stimulus-path-field": False}
        assert "body" in str(dialog.query_one("#stimulus-text-label").content).lower()
        await choose(pilot, dialog, "stimulus-kind", "image")
        assert shown(dialog, *STIMULUS_FIELDS) == {"stimulus-title-field": False, "stimulus-path-field": True}
        assert "description" in str(dialog.query_one("#stimulus-text-label").content).lower()
        # what was typed for another kind is not sent: a text stimulus has no title nor path
        dialog.query_one("#stimulus-path", Input).value = "nowhere.png"
        await choose(pilot, dialog, "stimulus-kind", "concept")
        dialog.query_one("#stimulus-title", Input).value = "Gazpacho Go"
        await choose(pilot, dialog, "stimulus-kind", "text")
        dialog.query_one("#stimulus-text", TextArea).text = "A chilled bottle on a shelf."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, StimulusDialog)
        stimulus = next(e for e in events_of(run_dir) if isinstance(e, ev.Stimulus))
        assert (stimulus.kind, stimulus.title, stimulus.path, stimulus.text) == (
            "text",
            None,
            None,
            "A chilled bottle on a shelf.",
        )


async def test_an_image_needs_a_file_that_exists_and_the_dialog_says_so(guide, cards, tmp_path):
    picture = tmp_path / "bottle.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        await choose(pilot, dialog, "stimulus-kind", "concept")
        dialog.query_one("#stimulus-title", Input).value = "Not for images"
        await choose(pilot, dialog, "stimulus-kind", "image")
        dialog.query_one("#stimulus-text", TextArea).text = "A green glass bottle with a red cap."
        await pilot.press("ctrl+s")  # no path: refused in the dialog, the path field focused
        assert app.screen is dialog and "image file" in error_text(dialog).lower()
        assert dialog.focused is dialog.query_one("#stimulus-path")
        await pilot.press(*str(tmp_path / "missing.png"), "ctrl+s")
        assert app.screen is dialog and app.is_running
        assert f"not found: {tmp_path / 'missing.png'}" in error_text(dialog)
        await pilot.press("ctrl+s")  # still missing: still refused, nothing logged
        assert not any(isinstance(e, ev.Stimulus) for e in events_of(run_dir))
        dialog.query_one("#stimulus-path", Input).value = str(tmp_path)
        await pilot.press("ctrl+s")
        assert "folder, not an image" in error_text(dialog)
        dialog.query_one("#stimulus-path", Input).value = str(picture)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, StimulusDialog)
        stimulus = next(e for e in events_of(run_dir) if isinstance(e, ev.Stimulus))
        assert (stimulus.kind, stimulus.path, stimulus.title, stimulus.text) == (
            "image",
            "stimuli/bottle.png",  # kept in the run folder (issue 9, item 14)
            None,
            "A green glass bottle with a red cap.",
        )


async def test_an_image_path_may_be_relative_to_the_guide_as_in_a_guide(guide, cards, tmp_path):
    (tmp_path / "stimuli").mkdir()
    (tmp_path / "stimuli" / "bottle.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    guide.source = tmp_path / "guide.toml"
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        await choose(pilot, dialog, "stimulus-kind", "image")
        dialog.query_one("#stimulus-path", Input).value = "stimuli/bottle.png"
        dialog.query_one("#stimulus-text", TextArea).text = "A bottle."
        await pilot.press("ctrl+s")
        await settle(pilot)
        stimulus = next(e for e in events_of(run_dir) if isinstance(e, ev.Stimulus))
        assert (stimulus.kind, stimulus.path) == ("image", "stimuli/bottle.png")


async def test_a_concept_card_needs_a_title_and_a_body(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        await choose(pilot, dialog, "stimulus-kind", "concept")
        dialog.query_one("#stimulus-title", Input).value = "Gazpacho Go"
        await pilot.press("ctrl+s")
        assert app.screen is dialog and "body" in error_text(dialog)
        assert dialog.focused is dialog.query_one("#stimulus-text")
        await pilot.press(*"Bottled gazpacho, 330 ml.")
        dialog.query_one("#stimulus-title", Input).value = "  "
        await pilot.press("ctrl+s")
        assert app.screen is dialog and "needs a title" in error_text(dialog)
        assert dialog.focused is dialog.query_one("#stimulus-title")
        await pilot.press(*"Gazpacho Go", "ctrl+s")
        await settle(pilot)
        stimulus = next(e for e in events_of(run_dir) if isinstance(e, ev.Stimulus))
        assert (stimulus.kind, stimulus.title, stimulus.text, stimulus.path) == (
            "concept",
            "Gazpacho Go",
            "Bottled gazpacho, 330 ml.",
            None,
        )


# -- 2. the poll dialog ----------------------------------------------------------------------

POLL_FIELDS = ("poll-options-field", "poll-up-to-field", "poll-range-field")


def spy_on_polls(screen: SessionScreen) -> list:
    """Record the PollSpec each poll is run with (the event log does not keep max_choices)."""
    asked = []
    run = screen.session.poll

    async def poll(spec):
        asked.append(spec)
        return await run(spec)

    screen.session.poll = poll
    return asked


async def test_poll_dialog_fields_follow_the_kind(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/poll How many?")
        dialog = app.screen
        assert isinstance(dialog, PollDialog)
        expected = {
            "likert5": (True, False, False),
            "likert7": (True, False, False),
            "single": (True, False, False),
            "multi": (True, True, False),
            "number": (False, False, True),
            "text": (False, False, False),
        }
        for kind, fields in expected.items():
            await choose(pilot, dialog, "poll-kind", kind)
            assert tuple(shown(dialog, *POLL_FIELDS).values()) == fields, kind
        for kind, labels in LIKERT_LABELS.items():  # Likert: the standard labels, unless replaced
            await choose(pilot, dialog, "poll-kind", kind)
            assert dialog.query_one("#poll-options", Input).placeholder == ", ".join(labels)
            label = str(dialog.query_one("#poll-options-label").content)
            assert f"exactly {len(labels)}" in label and "optional" in label.lower()
            assert "standard" in str(dialog.query_one("#poll-kind-note", Static).content)


async def test_likert_labels_are_used_or_refused_never_dropped(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "/poll Cold soup is for summer.")
        dialog = app.screen
        dialog.query_one("#poll-options", Input).value = "No, Maybe, Yes"
        await pilot.press("ctrl+s")  # three labels for five points: PollSpec's message, in the dialog
        assert app.screen is dialog
        assert "exactly 5 labels, got 3" in error_text(dialog)
        assert dialog.focused is dialog.query_one("#poll-options")
        labels = ["Never", "Rarely", "Sometimes", "Often", "Always"]
        dialog.query_one("#poll-options", Input).value = ", ".join(labels)
        await pilot.press("ctrl+s")
        await settle(pilot)
        asked = next(e for e in events_of(run_dir) if isinstance(e, ev.PollAsked))
        assert (asked.kind, asked.options) == ("likert5", labels)
        await pilot.press("escape")  # the results
        assert isinstance(app.screen, SessionScreen)
        await submit(pilot, "/poll And in winter?")  # left empty: the standard seven labels
        await choose(pilot, app.screen, "poll-kind", "likert7")
        await pilot.press("ctrl+s")
        await settle(pilot)
        asked = [e for e in events_of(run_dir) if isinstance(e, ev.PollAsked)][-1]
        assert (asked.kind, asked.options) == ("likert7", LIKERT_LABELS["likert7"])
        assert screen.app.is_running


async def test_choice_polls_need_options_multi_takes_up_to_and_number_a_range(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        asked = spy_on_polls(screen)
        await submit(pilot, "/poll What matters most?")
        dialog = app.screen
        await choose(pilot, dialog, "poll-kind", "single")
        await pilot.press("ctrl+s")
        assert app.screen is dialog and "options" in error_text(dialog).lower()
        assert dialog.focused is dialog.query_one("#poll-options")
        await choose(pilot, dialog, "poll-kind", "multi")
        dialog.query_one("#poll-options", Input).value = "Price, Taste, Packaging"
        dialog.query_one("#poll-up-to", Input).value = "5"
        await pilot.press("ctrl+s")
        assert app.screen is dialog and "only 3 options" in error_text(dialog)
        assert dialog.focused is dialog.query_one("#poll-up-to")
        dialog.query_one("#poll-up-to", Input).value = "2"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert (asked[-1].kind, asked[-1].options, asked[-1].max_choices) == (
            "multi",
            ["Price", "Taste", "Packaging"],
            2,
        )
        await pilot.press("escape")  # the results

        await submit(pilot, "/poll How much would you pay, in euros?")
        dialog = app.screen
        await choose(pilot, dialog, "poll-kind", "number")
        dialog.query_one("#poll-min", Input).value = "5"
        dialog.query_one("#poll-max", Input).value = "1"
        await pilot.press("ctrl+s")
        assert app.screen is dialog and "greater than max" in error_text(dialog)
        dialog.query_one("#poll-min", Input).value = "0.5"
        dialog.query_one("#poll-max", Input).value = "4"
        await pilot.press("ctrl+s")
        await settle(pilot)
        spec = asked[-1]
        assert (spec.kind, spec.options, spec.min, spec.max) == ("number", None, 0.5, 4.0)
        assert not any(n.severity == "error" for n in app._notifications)


# -- 3. the feed's error lines ---------------------------------------------------------------


def _error(**fields) -> ev.Error:
    base = dict(
        seq=9,
        ts="2026-01-01T00:00:00Z",
        agent="Maria Lopez",
        kind="connection",
        message="connection refused",
        recovered=False,
        purpose="turn",
    )
    return ev.Error(**{**base, **fields})


def test_an_error_line_says_what_became_of_the_turn():
    palette = SpeakerPalette(["Maria Lopez"])
    outage = feed_row(_error(), palette).body.plain
    assert "not answered — backend unreachable; resume or retry to redo it" in outage
    assert "lost" not in outage
    assert "key" in feed_row(_error(kind="auth"), palette).body.plain  # refused the key: not "unreachable"
    assert "not answered — backend unavailable;" in feed_row(_error(kind="backend"), palette).body.plain
    # a turn that failed (a round_key: it counts as taken) is lost; the others say what they are
    assert "turn lost" in feed_row(_error(kind="invalid_output", round_key="s0.round.0.0"), palette).body.plain
    assert (
        "no answer to this poll"
        in feed_row(_error(kind="rate_limit", purpose="poll", poll_id="intent"), palette).body.plain
    )
    assert "(recovered)" in feed_row(_error(recovered=True, purpose="consolidate"), palette).body.plain
    # the rule lives on the event (Error.halted), not in a list of kinds: a purpose-less error
    # (a log older than ``purpose``) is not read as a halted turn, whatever its kind
    assert "turn lost" in feed_row(_error(purpose=None), palette).body.plain


async def test_an_outage_is_not_called_a_lost_turn_in_the_feed(guide, cards, tmp_path):
    backend = FailingFor(
        "Maria Lopez", BackendUnavailableError("connection refused: http://127.0.0.1:9", kind="connection")
    )
    app, run_dir = app_for(guide, cards, tmp_path, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "Hello?")
        await settle(pilot)
        text = " ".join(feed_text(screen).split())
        assert "not answered — backend unreachable; resume or retry to redo it" in text
        assert "turn lost" not in text
        error = next(e for e in events_of(run_dir) if isinstance(e, ev.Error))
        assert getattr(error, "round_key", None) is None  # the engine will redo it


async def test_a_turn_that_failed_for_good_is_still_called_lost(guide, cards, tmp_path):
    backend = FailingFor("Tom Becker", BackendError("rate limit exhausted", kind="rate_limit"))
    app, _ = app_for(guide, cards, tmp_path, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "How do you feel about soup?")
        await settle(pilot)
        text = " ".join(feed_text(screen).split())
        assert "rate limit exhausted (turn lost)" in text and "not answered" not in text


# -- 4. the palette says the state ------------------------------------------------------------


async def test_palette_entries_show_the_action_that_applies_now(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)

        def titles() -> set[str]:
            return {a.title for a in screen.palette_actions()}

        assert {"Pause Tom Becker", "Mute Tom Becker", "Pause the session"} <= titles()
        assert not any("resume" in t.lower() or "unmute" in t.lower() for t in titles())
        await submit(pilot, "/pause tom")
        await submit(pilot, "/mute tom")
        await submit(pilot, "/pause")
        assert {
            "Resume Tom Becker (paused)",
            "Unmute Tom Becker (muted)",
            "Resume the session (paused)",
            "Pause Maria Lopez",
        } <= titles()
        assert not {"Pause Tom Becker", "Mute Tom Becker", "Pause the session"} & titles()
        await pilot.press("ctrl+p", *"tom becker")
        await pilot.pause(0.3)
        listed = app.screen.query_one("CommandList")
        prompts = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
        assert any("Resume Tom Becker (paused)" in p for p in prompts), prompts
        await pilot.press("escape")
        await pilot.press("ctrl+p", *"resume tom becker")
        await pilot.pause(0.3)
        await pilot.press("enter")  # runs what it said: resume (not a toggle read later)
        await pilot.pause()
        assert isinstance(events_of(run_dir)[-1], ev.AgentResumed)
        assert "Pause Tom Becker" in titles() and "Unmute Tom Becker (muted)" in titles()


# -- 5. poll results wait for the moderator ---------------------------------------------------


async def _ask_single_poll(pilot, question: str) -> None:
    await submit(pilot, f"/poll {question}")
    dialog = pilot.app.screen
    await choose(pilot, dialog, "poll-kind", "single")
    dialog.query_one("#poll-options", Input).value = "Small, Large"
    await pilot.press("ctrl+s")


def _poll_notices(app) -> list:
    return [n for n in app._notifications if n.title.startswith("Poll closed")]


async def test_poll_results_never_open_over_a_line_being_typed(guide, cards, tmp_path, monkeypatch):
    monkeypatch.setattr(control_bar, "TYPING_PAUSE_S", 60.0)  # "just now", however slow this machine
    app, run_dir = app_for(guide, cards, tmp_path, backend=ScriptedBackend(seed=3, latency=1.0))
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await _ask_single_poll(pilot, "Which size?")
        assert screen.focused is screen.control_bar.input  # back where the moderator was
        await pilot.press("W")  # the moderator starts a follow-up while the poll runs
        assert not any(isinstance(e, ev.PollClosed) for e in events_of(run_dir))
        await settle(pilot)
        assert any(isinstance(e, ev.PollClosed) for e in events_of(run_dir))
        assert app.screen is screen and screen.focused is screen.control_bar.input
        await pilot.press(*"hy Large?", "enter")  # every key reached the line, and it is sent as typed
        await settle(pilot)
        assert [e.text for e in events_of(run_dir) if isinstance(e, ev.Moderator)] == ["Why Large?"]
        notices = _poll_notices(app)
        assert len(notices) == 1 and "Which size?" in notices[0].message and "/results" in notices[0].message
        await submit(pilot, "/results")
        results = app.screen
        assert isinstance(results, PollResultsScreen) and [p.question for p in results.polls] == ["Which size?"]
        await pilot.press("escape")

        # a line typed and erased just now is still typing; another dialog open is busy too
        await _ask_single_poll(pilot, "Which colour?")
        await pilot.press("x", "backspace")
        await settle(pilot)
        assert app.screen is screen and len(_poll_notices(app)) == 2
        screen.control_bar.input.typed_at = float("-inf")  # not typing: busy in another dialog
        await _ask_single_poll(pilot, "Which price?")
        app.push_screen(HelpScreen())
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and len(_poll_notices(app)) == 3


async def test_poll_results_open_when_the_moderator_is_waiting_for_them(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path, backend=ScriptedBackend(seed=3, latency=0.1))
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await _ask_single_poll(pilot, "Which size?")
        await settle(pilot)
        assert isinstance(app.screen, PollResultsScreen)
        assert [p.question for p in app.screen.polls] == ["Which size?"]
        assert not _poll_notices(app)  # the results themselves, not a notice as well
        await pilot.press("escape")
        # a poll of the guide never opens a screen by itself (auto-run, space): a notice says how
        await pilot.press("escape")
        for _ in range(20):
            if sum(isinstance(e, ev.PollClosed) for e in events_of(run_dir)) == 2:
                break
            await pilot.press("space")
            await settle(pilot)
        assert sum(isinstance(e, ev.PollClosed) for e in events_of(run_dir)) == 2
        assert isinstance(app.screen, SessionScreen)
        assert any("I would buy it." in n.message for n in _poll_notices(app))
