"""Failures stay notices: a failed turn marks its pane, a dead backend never kills the app."""

from __future__ import annotations

from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit, tui_config
from troupe.core import events as ev
from troupe.core.errors import BackendError, BackendUnavailableError
from troupe.core.llm.scripted import ScriptedBackend
from troupe.tui.launch import new_session_app


class FailingFor(ScriptedBackend):
    """Scripted replies, except that ``agent``'s turns raise ``error``."""

    def __init__(self, agent: str, error: Exception) -> None:
        super().__init__(seed=5)
        self.agent = agent
        self.error = error

    async def complete(self, request, *, on_delta=None):
        if request.agent == self.agent and request.purpose == "turn":
            raise self.error
        return await super().complete(request, on_delta=on_delta)


async def test_a_failed_turn_is_a_badge_and_a_notice_and_the_others_go_on(guide, cards, tmp_path):
    backend = FailingFor("Tom Becker", BackendError("rate limit exhausted", kind="rate_limit"))
    app = new_session_app(guide, cards, backend, tmp_path / "run", config=tui_config(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "How do you feel about soup?")
        await settle(pilot)
        log = events_of(tmp_path / "run")
        errors = [e for e in log if isinstance(e, ev.Error)]
        assert [(e.agent, e.recovered) for e in errors] == [("Tom Becker", False)]
        assert {e.agent for e in log if isinstance(e, ev.Say)} <= {"Maria Lopez", "Aiko Sato", "Kwame Mensah"}
        assert screen.grid.pane("Tom Becker").badge_key == "error"
        assert any("rate limit exhausted" in n.message for n in app._notifications)
        assert "ERROR" in feed_text(screen)
        await submit(pilot, "Still there?")  # the session goes on
        await settle(pilot)
        assert sum(isinstance(e, ev.Moderator) for e in events_of(tmp_path / "run")) == 2
        assert app.is_running


async def test_an_unreachable_backend_is_one_notice_never_a_crash(guide, cards, tmp_path):
    backend = FailingFor("Maria Lopez", BackendUnavailableError("connection refused: http://127.0.0.1:9"))
    app = new_session_app(guide, cards, backend, tmp_path / "run", config=tui_config(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await session_screen(pilot)
        await submit(pilot, "Hello?")
        await settle(pilot)
        # The outage reaches the screen twice — the halted turn's ``error`` event and the failed
        # worker — in an order that depends on scheduling: whichever comes first is shown, and
        # only once (``already_reported``). Assert that, not which of the two won the race.
        notices = [n for n in app._notifications if "connection refused" in n.message]
        assert len(notices) == 1, [(n.title, n.message) for n in app._notifications]
        assert notices[0].title in ("Model backend unavailable", "Not answered (backend)")
        assert app.is_running
    assert not any(isinstance(e, ev.SessionEnded) for e in events_of(tmp_path / "run"))  # resumable


async def test_a_session_that_cannot_start_exits_with_a_message(guide, cards, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "events.jsonl").write_text('{"seq":1}\n', encoding="utf-8")  # already holds a run
    app = new_session_app(guide, cards, ScriptedBackend(), run_dir, config=tui_config(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
    assert app.return_code == 1
