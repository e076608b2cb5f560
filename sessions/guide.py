"""Discussion guides: the TOML files that plan a session.

A guide has a title, a kind, a language, the panel, defaults, and ordered sections. Each
section has a moderator prompt, optional stimuli, a turn policy, a number of rounds, probes
the moderator can fire and polls. See ``docs/guides.md`` for the format with a full example.

Load with :func:`load_guide`; errors are :class:`BadInputError` naming file, section and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from troupe.core.errors import BadInputError
from troupe.core.polls import PollSpec
from troupe.core.validation import bad_input_from_validation, read_toml

Policy = Literal["parallel", "round_robin", "free", "directed"]
SessionKind = Literal["focus_group", "brainstorm", "interview", "concept_test", "ab_test"]

GUIDES_DIR = Path(__file__).parent / "guides"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StimulusSpec(_Strict):
    """Something shown to the panel: text, a concept card, or an image (path + description)."""

    kind: Literal["text", "concept", "image"] = "text"
    title: str | None = None
    text: str = Field(min_length=1, description="The text, the concept card body, or the image description.")
    path: str | None = None
    """Image file (relative to the guide) for ``image`` stimuli."""

    @model_validator(mode="after")
    def _check(self) -> StimulusSpec:
        if self.kind == "image" and not self.path:
            raise ValueError("an image stimulus needs a path")
        if self.kind == "concept" and not self.title:
            raise ValueError("a concept stimulus needs a title")
        return self


class PanelSpec(_Strict):
    personas: list[str] = Field(default_factory=list)
    """Library names (``maria-lopez``) or paths relative to the guide file."""
    size: int | None = Field(default=None, ge=1, le=50)
    """Seat only the first ``size`` personas (after ``--personas`` overrides)."""


class Defaults(_Strict):
    policy: Policy = "parallel"
    rounds: int = Field(default=1, ge=0, le=1000)
    max_concurrency: int = Field(default=16, ge=1, le=256)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=16, le=4096)
    model: str | None = None


class Section(_Strict):
    title: str = Field(min_length=1)
    duration_min: float | None = Field(default=None, ge=0)
    prompt: str | None = None
    """What the moderator says to open the section (a ``moderator`` event)."""
    stimuli: list[StimulusSpec] = Field(default_factory=list)
    stimuli_order: Literal["fixed", "rotate", "shuffle"] = "fixed"
    """``rotate``: shift the order by the run's seed, to balance order effects across runs."""
    policy: Policy | None = None
    rounds: int | None = Field(default=None, ge=0, le=1000)
    probes: list[str] = Field(default_factory=list)
    polls: list[PollSpec] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    """Ground rules read to the panel, e.g. "No criticism of ideas in this phase"."""


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

    @model_validator(mode="after")
    def _unique_polls(self) -> Guide:
        seen: set[str] = set()
        for i, section in enumerate(self.sections):
            for poll in section.polls:
                if poll.id in seen:
                    raise ValueError(f"sections[{i}]: poll id {poll.id!r} is used twice")
                seen.add(poll.id)
        return self

    def policy_for(self, section: Section) -> Policy:
        return section.policy or self.defaults.policy

    def rounds_for(self, section: Section) -> int:
        return self.defaults.rounds if section.rounds is None else section.rounds


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
    path = resolve_guide_path(name_or_path)
    data = read_toml(path)
    try:
        guide = Guide.model_validate(data)
    except ValidationError as exc:
        raise bad_input_from_validation(exc, path) from None
    guide.source = path
    return guide
