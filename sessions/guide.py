"""Discussion guides: the TOML files that plan a session.

A guide has a title, a kind, a language, the panel, defaults, and ordered sections. Each
section has a moderator prompt, optional stimuli, a turn policy, a number of rounds, probes
the moderator can fire and polls. See ``docs/guides.md`` for the format with a full example.

Load with :func:`load_guide`. Every problem is a one-line :class:`BadInputError` that names the
file, the section (index and title, so a moderator can find it in a long guide) and the key::

    guide.toml: sections[2] "Concept reactions": polls[0].kind: Input should be 'likert5', …
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from troupe.core.errors import BadInputError
from troupe.core.languages import normalize_language
from troupe.core.poll_sampling import PollSampling
from troupe.core.polls import PollSpec
from troupe.core.validation import LocatedValueError, field_path, one_line, read_toml

Policy = Literal["parallel", "round_robin", "free", "directed"]
SessionKind = Literal["focus_group", "brainstorm", "interview", "concept_test", "ab_test"]

GUIDES_DIR = Path(__file__).parent / "guides"


GuideLocatedError = LocatedValueError
"""A cross-field problem that knows where it lives (``loc``), so the message can name it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StimulusSpec(_Strict):
    """Something shown to the panel: text, a concept card, or an image (path + description)."""

    kind: Literal["text", "concept", "image"] = "text"
    title: str | None = None
    text: str = Field(min_length=1, description="The text, the concept card body, or the image description.")
    path: str | None = None
    """Image file (relative to the guide) for ``image`` stimuli. Models that cannot see images
    get ``text`` (the description) instead, so write it as if describing the picture aloud."""

    @model_validator(mode="after")
    def _check(self) -> StimulusSpec:
        if self.kind == "image" and not self.path:
            raise GuideLocatedError(("path",), "an image stimulus needs a path")
        if self.kind == "concept" and not self.title:
            raise GuideLocatedError(("title",), "a concept stimulus needs a title")
        return self


class PanelSpec(_Strict):
    personas: list[str] = Field(default_factory=list)
    """Library names (``maria-lopez``) or paths relative to the guide file."""
    size: int | None = Field(default=None, ge=1, le=50)
    """Seat only the first ``size`` personas (after ``--personas`` overrides)."""

    @model_validator(mode="after")
    def _unique(self) -> PanelSpec:
        seen: set[str] = set()
        for i, name in enumerate(self.personas):
            key = name.strip().lower()
            if key in seen:
                raise GuideLocatedError(("personas", i), f"{name!r} is seated twice")
            seen.add(key)
        return self


class BudgetSpec(_Strict):
    """``[defaults.budget]``: limits the session pauses before passing (``core/budget.py``)."""

    max_cost: float | None = Field(default=None, ge=0)
    """US dollars."""
    max_tokens: int | None = Field(default=None, ge=0)
    """Prompt + completion tokens of the whole run."""
    max_minutes: float | None = Field(default=None, ge=0)
    """Active minutes."""


class TurnCheckSpec(_Strict):
    """``[defaults.turn_check]``: the per-turn persona check for every run of this guide
    (``core/turn_check.py``). Each key set here wins over the config's ``[turn_check]``;
    ``--turn-check``/``--no-turn-check``/``--turn-check-threshold`` win over both."""

    enabled: bool | None = None
    threshold: int | None = Field(default=None, ge=0, le=10)
    """A draft scoring below this (0–9) is regenerated once; 0 checks and logs only."""
    model: str | None = None
    """The judge's model (None: the session's)."""


class Defaults(_Strict):
    policy: Policy = "parallel"
    rounds: int = Field(default=1, ge=0, le=1000)
    max_concurrency: int = Field(default=64, ge=1, le=256)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=16, le=4096)
    model: str | None = None
    poll_sampling: PollSampling | None = None
    """Tools against variance collapse in poll answers (K draws, per-persona temperatures and
    seeds, an instruction set); off when unset. See :mod:`troupe.core.poll_sampling`."""
    budget: BudgetSpec | None = None
    """Budget limits for every run of this guide; ``--max-cost``… on the command line win."""
    turn_check: TurnCheckSpec | None = None
    """The per-turn persona check (off unless enabled here, in the config or on the command line)."""


class Section(_Strict):
    title: str = Field(min_length=1)
    duration_min: float | None = Field(default=None, ge=0)
    """Intended length in minutes (a pacing aid shown to the moderator; nothing enforces it)."""
    goal: str | None = None
    """What the section is for, in the moderator's words (shown in the TUI, not to the panel)."""
    prompt: str | None = None
    """What the moderator says to open the section (a ``moderator`` event)."""
    stimuli: list[StimulusSpec] = Field(default_factory=list)
    stimuli_order: Literal["fixed", "rotate", "shuffle"] = "fixed"
    """``rotate``: shift the order by the run's seed, to balance order effects across runs."""
    policy: Policy | None = None
    rounds: int | None = Field(default=None, ge=0, le=1000)
    """Discussion rounds after the prompt — or after *each* stimulus when there are stimuli."""
    probes: list[str] = Field(default_factory=list)
    polls: list[PollSpec] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    """Ground rules read to the panel, e.g. "No criticism of ideas in this phase"."""

    def ordered_stimuli(self, seed: int = 0) -> list[StimulusSpec]:
        """The stimuli in the order this run shows them.

        ``rotate`` starts at position ``seed % n`` so that over n runs (seeds 0…n−1) every
        stimulus is shown first once — the usual counterbalancing for order effects.
        ``shuffle`` is a seeded permutation, reproducible for a given seed.
        """
        items = list(self.stimuli)
        if len(items) < 2 or self.stimuli_order == "fixed":
            return items
        if self.stimuli_order == "rotate":
            k = seed % len(items)
            return items[k:] + items[:k]
        random.Random(f"stimuli|{seed}|{self.title}").shuffle(items)
        return items


class Guide(_Strict):
    title: str = Field(min_length=1)
    kind: SessionKind = "focus_group"
    language: str = "en"
    description: str | None = None
    objectives: list[str] = Field(default_factory=list)
    panel: PanelSpec = Field(default_factory=PanelSpec)
    defaults: Defaults = Field(default_factory=Defaults)
    sections: list[Section] = Field(min_length=1)

    source: Path | None = Field(default=None, exclude=True)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        """An ISO 639-1 code (``es``, ``pt-BR``) or its English name, stored as the code."""
        return normalize_language(value)

    @model_validator(mode="after")
    def _unique_polls(self) -> Guide:
        seen: dict[str, int] = {}
        for i, section in enumerate(self.sections):
            for j, poll in enumerate(section.polls):
                if poll.id in seen:
                    raise GuideLocatedError(
                        ("sections", i, "polls", j, "id"),
                        f"poll id {poll.id!r} is already used in sections[{seen[poll.id]}]",
                    )
                seen[poll.id] = i
        return self

    def policy_for(self, section: Section) -> Policy:
        return section.policy or self.defaults.policy

    def rounds_for(self, section: Section) -> int:
        return self.defaults.rounds if section.rounds is None else section.rounds

    def total_rounds(self) -> int:
        """Discussion rounds the guide plans in all: a section's rounds follow each of its
        stimuli (or its prompt when it has none); polls and prompts are not counted."""
        return sum(self.rounds_for(s) * max(1, len(s.stimuli)) for s in self.sections)

    def resolve_path(self, relative: str) -> Path:
        """A path written in the guide (image, persona file), relative to the guide's folder."""
        p = Path(relative).expanduser()
        if p.is_absolute() or self.source is None:
            return p
        return self.source.parent / p


def list_guides() -> list[Path]:
    """The shipped guides, sorted by file name."""
    return sorted(GUIDES_DIR.glob("*.toml"))


def resolve_guide_path(name_or_path: str | Path) -> Path:
    """A path to a guide file, or the name of a shipped guide (``concept-test``)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise BadInputError("session file not found", path=str(p))
        return p
    candidate = GUIDES_DIR / f"{name_or_path}.toml"
    if candidate.exists():
        return candidate
    names = ", ".join(g.stem for g in list_guides()) or "none"
    raise BadInputError(f"no session named {str(name_or_path)!r} (shipped: {names})")


def load_guide(name_or_path: str | Path) -> Guide:
    """Read, validate and return a guide; :class:`BadInputError` names file, section and key."""
    path = resolve_guide_path(name_or_path)
    data = read_toml(path)
    guide = parse_guide(data, path)
    _check_files(guide, path)
    return guide


def parse_guide(data: dict[str, Any], path: str | Path | None = None) -> Guide:
    """Validate an already-decoded guide (TOML file, or ``session_started.guide`` of a run)."""
    try:
        guide = Guide.model_validate(data)
    except ValidationError as exc:
        raise format_guide_error(exc, path, data) from None
    guide.source = Path(path) if path is not None else None
    return guide


def format_guide_error(exc: ValidationError, path: str | Path | None, data: Any) -> BadInputError:
    """One line: ``file: sections[i] "Title": key.path: reason`` for the first problem."""
    first, message = one_line(exc, noun="key")
    return BadInputError(message, path=str(path) if path else None, field=_where(first.loc, data))


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """``sections[2] "Concept reactions": polls[0].kind`` — the section named by its title."""
    if len(loc) >= 2 and loc[0] == "sections" and isinstance(loc[1], int):
        index = loc[1]
        head = f"sections[{index}]"
        title = _section_title(data, index)
        if title:
            head += f' "{title}"'
        rest = loc[2:]
        return f"{head}: {field_path(rest)}" if rest else head
    return field_path(loc)


def _section_title(data: Any, index: int) -> str | None:
    try:
        title = data["sections"][index]["title"]
    except (KeyError, IndexError, TypeError):
        return None
    return title.strip()[:60] if isinstance(title, str) and title.strip() else None


def _check_files(guide: Guide, path: Path) -> None:
    """Image stimuli must exist; caught at load time, not in the middle of a session."""
    for i, section in enumerate(guide.sections):
        for j, stimulus in enumerate(section.stimuli):
            if stimulus.kind == "image" and stimulus.path and not guide.resolve_path(stimulus.path).is_file():
                raise BadInputError(
                    f"image file not found: {stimulus.path}",
                    path=str(path),
                    field=f'sections[{i}] "{section.title}": stimuli[{j}].path',
                )
