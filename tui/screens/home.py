"""The home screen (``troupe``): pick a session template, a panel and a backend; or resume a run.

Left: the shipped discussion guides and the recent runs under ``./runs``. Middle: the
persona library as a checklist (the guide's own panel is ticked when a guide is
highlighted). Right: a preview of the highlighted persona's card, the prompt the model will
actually get. Bottom: backend, model, seed, and Start / Resume.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, SelectionList, Static
from textual.widgets.option_list import Option

from troupe.core.errors import BadInputError, TroupeError

from ..config import TuiConfig
from ..runs import RunSummary, recent_runs
from ..text import plain_text, visible
from .base import WorkerScreen, notify_error

BACKENDS = [("default", "auto"), ("openai", "openai"), ("local", "local"), ("scripted", "scripted")]


def backend_problems(settings: Any) -> dict[str, str | None]:
    """Why each backend cannot run here (None: it can), checked without loading anything.

    ``openai`` needs a key, a base URL or Azure settings; ``local`` needs the local extra
    (llama-cpp-python and the SmolLM2 model file); ``scripted`` always runs. ``auto`` is what
    DESIGN.md's default rule picks, and shares its problem.
    """
    import importlib.util

    from troupe.core.config import backend_choice
    from troupe.core.llm.factory import LOCAL_EXTRA_HINT

    problems: dict[str, str | None] = {"scripted": None}
    configured = settings.api_key is not None or settings.base_url is not None or settings.azure.configured
    problems["openai"] = None if configured else "no OPENAI_API_KEY, OPENAI_BASE_URL or Azure settings"
    try:
        has_llama = importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        has_llama = False
    if not has_llama:
        problems["local"] = f"llama-cpp-python is not installed ({LOCAL_EXTRA_HINT})"
    else:
        from troupe.core.llm.local import find_default_gguf

        has_model = settings.local.model_path is not None or find_default_gguf() is not None
        problems["local"] = None if has_model else f"the SmolLM2 model file is not installed ({LOCAL_EXTRA_HINT})"
    problems["auto"] = problems.get(backend_choice(settings)[0])
    return problems


def preselect(problems: dict[str, str | None]) -> str:
    """The backend the Start button gets first: the default if it works, else one that does."""
    return next(name for name in ("auto", "openai", "local", "scripted") if problems.get(name) is None)


MIN_PANEL, MAX_PANEL = 2, 12


class HomeScreen(WorkerScreen[None]):
    """Start a new session or resume a recent run."""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "start",
            "Start",
            id="troupe.home.start",
            tooltip="Start the highlighted guide with the ticked panel",
        ),
        Binding("ctrl+r", "resume", "Resume", id="troupe.home.resume", tooltip="Reopen the highlighted recent run"),
    ]

    def __init__(self, config: TuiConfig) -> None:
        super().__init__(id="home")
        self.config = config
        self.guides: list[Path] = []
        self.runs: list[RunSummary] = []
        self.library: dict[str, Any] = {}
        self._cards: dict[str, Any] = {}
        self.backend_problems: dict[str, str | None] = {}
        self._guide_ticks = True
        """The panel's ticks are the highlighted guide's own (no tick changed by hand yet)."""
        self._ticking = False

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble((" Troupe", "bold"), ("  simulated, moderated focus groups", "dim")), id="home-title"
        )
        with Horizontal(id="home-body"):
            with Vertical(id="home-left"):
                yield Label("Session templates", classes="section-label")
                yield OptionList(id="guides")
                yield Label("Recent runs (ctrl+r resumes)", classes="section-label")
                yield OptionList(id="runs")
            with Vertical(id="home-middle"):
                yield Label("Panel (space ticks, 2–12)", classes="section-label")
                yield SelectionList[str](id="panel")
            with Vertical(id="home-right"):
                yield Label("Card preview", classes="section-label")
                yield Static("", id="preview")
        with Horizontal(id="home-start"):
            yield Select(BACKENDS, value="auto", allow_blank=False, id="backend")
            yield Input(placeholder="model (default)", id="model")
            yield Input("0", placeholder="seed", id="seed", type="integer")
            yield Button("Start", variant="primary", id="start")
            yield Button("Resume", id="resume")
        yield Static("", id="backend-note")
        yield Footer()

    def on_mount(self) -> None:
        for widget in self.query(Input):
            widget.cursor_blink = self.config.cursor_blink
        self._load_guides()
        self._load_library()
        self._load_runs()
        self._check_backends()
        guides = self.query_one("#guides", OptionList)
        if self.guides:  # start on a template: its panel is ticked and a card is previewed at once
            guides.highlighted = 0
        guides.focus()

    # -- loading ---------------------------------------------------------------------

    def _load_guides(self) -> None:
        from troupe.sessions.guide import list_guides, load_guide

        options = []
        for path in (self.config.guides or list_guides)():
            try:
                guide = load_guide(path)
            except TroupeError as exc:
                options.append(Option(plain_text(f"{path.stem}: {exc}", style="red"), id=str(path), disabled=True))
                continue
            label = Text.assemble((visible(guide.title), "bold"), f"\n  {guide.kind} · {len(guide.sections)} sections")
            options.append(Option(label, id=str(path)))
            self.guides.append(path)
        self.query_one("#guides", OptionList).add_options(options)

    def _load_library(self) -> None:
        try:
            from troupe.personas.card import render_card
            from troupe.personas.library import list_library
        except ImportError:
            self.notify("The persona library is not installed.", severity="warning")
            return
        try:
            personas = (self.config.library or list_library)()
        except TroupeError as exc:
            notify_error(self.app, exc, "reading the persona library")
            return
        selection = self.query_one("#panel", SelectionList)
        for persona in personas:
            card = render_card(persona)
            self.library[persona.slug] = persona
            self._cards[persona.slug] = card
            selection.add_option((plain_text(f"{card.name} · {card.descriptor}"), persona.slug))

    def _check_backends(self) -> None:
        """Preselect a backend that can run here, and say why the others cannot."""
        from troupe.core.config import load_settings

        try:
            settings = (self.config.settings or load_settings)()
        except TroupeError as exc:
            self.query_one("#backend-note", Static).update(plain_text(f"Settings: {exc}", style="red"))
            return
        self.backend_problems = (self.config.backend_check or backend_problems)(settings)
        chosen = preselect(self.backend_problems)
        self.query_one("#backend", Select).value = chosen
        cannot = [f"{name}: {why}" for name, why in self.backend_problems.items() if why and name != "auto"]
        note = "Can't run here — " + "; ".join(cannot) if cannot else ""
        self.query_one("#backend-note", Static).update(plain_text(note, style="dim"))

    def _load_runs(self) -> None:
        self.runs = recent_runs(self.config.runs_dir)
        options = []
        for run in self.runs:  # newest first
            indent = "   " * run.depth
            tree = f"{indent[:-3]}└─ " if run.depth else ""
            label = Text.assemble(
                (tree, "dim"), (visible(run.title), "bold"), ("\n  " + indent + visible(run.describe()), "dim")
            )
            options.append(Option(label, id=str(run.path)))
        runs = self.query_one("#runs", OptionList)
        runs.clear_options()
        runs.add_options(options or [Option(Text("(no runs yet)", style="dim"), disabled=True)])
        if self.runs:
            runs.highlighted = 0  # the newest run: ctrl+r resumes it at once

    # -- reacting ----------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#guides")
    def _guide_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        from troupe.sessions.guide import load_guide

        try:
            guide = load_guide(Path(str(event.option.id)))
        except TroupeError:
            return
        wanted = set(guide.panel.personas[: guide.panel.size or None])
        selection = self.query_one("#panel", SelectionList)
        if self._guide_ticks:  # ticks made by hand are the moderator's: moving the cursor keeps them
            self._ticking = True
            try:
                selection.deselect_all()
                for slug in wanted & set(self.library):
                    selection.select(slug)
            finally:
                self._ticking = False
        first = next(
            (i for i in range(selection.option_count) if selection.get_option_at_index(i).value in wanted), None
        )
        if first is not None:  # preview the guide's first persona until another is highlighted
            selection.highlighted = first
            self._show_card(str(selection.get_option_at_index(first).value))

    @on(SelectionList.SelectionToggled, "#panel")
    def _ticked_by_hand(self) -> None:
        if not self._ticking:
            self._guide_ticks = False

    @on(SelectionList.SelectionHighlighted, "#panel")
    def _persona_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._show_card(str(event.selection.value))

    def _show_card(self, slug: str) -> None:
        card = self._cards.get(slug)
        if card is not None:
            preview = Text.assemble((visible(card.name), "bold"), visible(f"\n{card.descriptor}\n\n{card.prompt}"))
            self.query_one("#preview", Static).update(preview)

    @on(OptionList.OptionSelected, "#runs")
    def _run_selected(self) -> None:
        self.action_resume()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#resume")
    def _resume_pressed(self) -> None:
        self.action_resume()

    def _backend_choice(self) -> tuple[str | None, str | None]:
        name = str(self.query_one("#backend", Select).value)
        model = self.query_one("#model", Input).value.strip() or None
        return (None if name == "auto" else name), model

    def action_start(self) -> None:
        from troupe.sessions.guide import load_guide
        from troupe.sessions.opening import seat_personas
        from troupe.sessions.run import default_run_dir

        guides = self.query_one("#guides", OptionList)
        if guides.highlighted is None:
            self.notify("Pick a session template first.", severity="warning")
            return
        slugs = list(self.query_one("#panel", SelectionList).selected)
        if not MIN_PANEL <= len(slugs) <= MAX_PANEL:
            self.notify(
                f"Tick {MIN_PANEL} to {MAX_PANEL} personas for the panel ({len(slugs)} ticked).", severity="warning"
            )
            return
        try:
            guide = load_guide(Path(str(guides.get_option_at_index(guides.highlighted).id)))
            seed = int(self.query_one("#seed", Input).value or 0)
            cards = seat_personas([self.library[s] for s in slugs])
        except (TroupeError, ValueError) as exc:
            notify_error(self.app, exc if isinstance(exc, TroupeError) else BadInputError(str(exc), field="seed"))
            return
        name, model = self._backend_choice()
        run_dir = default_run_dir(guide, base=self.config.runs_dir)

        async def opener(cfg: TuiConfig) -> Any:
            from troupe.core.config import load_settings
            from troupe.core.llm.factory import make_backend
            from troupe.sessions.opening import open_session

            settings = load_settings()
            backend = await asyncio.to_thread(make_backend, settings, name, model)
            return await open_session(guide, cards, backend, run_dir, settings=settings, seed=seed, clock=cfg.clock)

        self.app.open_session(opener, f"Starting “{guide.title}” with {len(cards)} personas…")  # type: ignore[attr-defined]

    def action_resume(self) -> None:
        runs = self.query_one("#runs", OptionList)
        if runs.highlighted is None or not self.runs:
            self.notify("Pick a recent run to resume.", severity="warning")
            return
        run = self.runs[runs.highlighted]
        name, model = self._backend_choice()
        if name is None:  # "default" resumes on the backend the run was started with
            name, model = run.backend, model or run.model

        async def opener(cfg: TuiConfig) -> Any:
            from troupe.core.config import load_settings
            from troupe.core.llm.factory import make_backend
            from troupe.sessions.opening import reopen_session

            backend = await asyncio.to_thread(make_backend, load_settings(), name, model)
            return await reopen_session(run.path, backend, clock=cfg.clock)

        self.app.open_session(opener, f"Resuming {run.path.name}…")  # type: ignore[attr-defined]
