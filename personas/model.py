"""The persona model: everything Troupe knows about one simulated person.

The fields cover what TinyTroupe personas carry (so its ``.agent.json`` files import with
nothing dropped) plus a few Troupe fields the engine uses (``slug``, ``income``,
``household``, ``languages``, ``verbal_tics``, ``talkativeness``).

Every table forbids unknown keys, so a typo such as ``[preferences] like = [...]`` is caught
with the file and the field named; anything Troupe does not model goes, deliberately, into
the top-level ``extra`` table. ``behaviors`` is the one open table: besides ``general`` and
``routines`` it takes any named list (``behaviors.travel``, ``behaviors.money``), because
TinyTroupe fragments add such lists freely.

The model is pure data. Loading files lives in ``load.py``, merging fragments in
``fragments.py`` and the prompt card in ``card.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from troupe.core.slugs import slugify

BIG_FIVE = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")

IncomeBracket = Literal["low", "lower-middle", "middle", "upper-middle", "high"]

# Leading words of TinyTroupe's descriptive big-five strings ("High. Very creative…"),
# longest first so that "very high" wins over "high".
_LEVEL_WORDS: tuple[tuple[str, float], ...] = (
    ("extremely high", 0.95),
    ("very high", 0.9),
    ("medium-high", 0.65),
    ("medium high", 0.65),
    ("moderately high", 0.65),
    ("fairly high", 0.65),
    ("medium-low", 0.35),
    ("medium low", 0.35),
    ("moderately low", 0.35),
    ("fairly low", 0.35),
    ("extremely low", 0.05),
    ("very low", 0.1),
    ("high", 0.8),
    ("medium", 0.5),
    ("moderate", 0.5),
    ("average", 0.5),
    ("mid", 0.5),
    ("low", 0.2),
)


def level_score(value: str | float | None) -> float | None:
    """Map a big-five value to 0..1: a number is taken as is, a string by its leading word.

    ``"High. Very imaginative"`` → 0.8, ``"Medium."`` → 0.5, ``"Very low"`` → 0.1; a string
    with no recognisable level gives ``None`` (the caller picks a neutral default).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip().lower()
    for word, score in _LEVEL_WORDS:
        if text.startswith(word):
            return score
    return None


class _Strict(BaseModel):
    """Base for every persona table: unknown keys are errors (typos get caught)."""

    model_config = ConfigDict(extra="forbid")


class Occupation(_Strict):
    title: str = ""
    """Short job title, used in the one-line descriptor ("nurse", "retired teacher")."""
    organization: str = ""
    description: str = ""
    """Second-person detail: what the work is like, what is hard about it."""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        # Older TinyTroupe personas write `"occupation": "Architect"`.
        return {"title": data} if isinstance(data, str) else data


class BigFive(_Strict):
    """The five factors, each a descriptive string (TinyTroupe style) or a number in 0..1."""

    openness: str | float | None = None
    conscientiousness: str | float | None = None
    extraversion: str | float | None = None
    agreeableness: str | float | None = None
    neuroticism: str | float | None = None

    @field_validator(*BIG_FIVE)
    @classmethod
    def _number_in_unit_range(cls, value: str | float | None) -> str | float | None:
        if isinstance(value, (int, float)) and not 0.0 <= value <= 1.0:
            raise ValueError("a number must be between 0 and 1 (or write a level such as 'High.')")
        return value

    def score(self, factor: str) -> float | None:
        """The factor as 0..1, or ``None`` when unset or unreadable."""
        return level_score(getattr(self, factor))


class Personality(_Strict):
    traits: list[str] = Field(default_factory=list)
    big_five: BigFive = Field(default_factory=BigFive)


class Preferences(_Strict):
    interests: list[str] = Field(default_factory=list)
    likes: list[str] = Field(default_factory=list)
    dislikes: list[str] = Field(default_factory=list)


class Behaviors(BaseModel):
    """``general`` habits, daily ``routines`` by time of day, and any other named list.

    Extra keys must be lists of strings (``travel = [...]``, ``money = [...]``); TinyTroupe
    fragments add such lists and Troupe's library uses ``money`` and ``shopping``.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, list[str]] = Field(init=False)

    general: list[str] = Field(default_factory=list)
    routines: dict[str, list[str]] = Field(default_factory=dict)

    def named_lists(self) -> dict[str, list[str]]:
        """The lists other than ``general`` and ``routines`` (``{"money": [...], …}``)."""
        return dict(self.__pydantic_extra__ or {})


class Relationship(_Strict):
    name: str
    description: str = ""


class Persona(_Strict):
    """One simulated person. ``name`` is the only required field."""

    name: str = Field(min_length=1)
    slug: str = ""
    """Library id (``maria-lopez``); derived from the file name, or from ``name``."""
    age: int | None = Field(default=None, ge=0, le=120)
    gender: str | None = None
    nationality: str | None = None
    residence: str | None = None
    """"City, Country" (or "City, Region, Country"); the descriptor uses the first part."""
    education: str | None = None
    occupation: Occupation = Field(default_factory=Occupation)
    style: str | None = None
    """How the person speaks."""
    verbal_tics: list[str] = Field(default_factory=list)
    """Phrases the person keeps using; they make voices tell apart in a transcript."""
    personality: Personality = Field(default_factory=Personality)
    preferences: Preferences = Field(default_factory=Preferences)
    beliefs: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    behaviors: Behaviors = Field(default_factory=Behaviors)
    health: str | None = None
    relationships: list[Relationship] = Field(default_factory=list)
    long_term_goals: list[str] = Field(default_factory=list)
    other_facts: list[str] = Field(default_factory=list)

    # Troupe fields
    income: IncomeBracket | None = None
    """Income bracket relative to the person's own country."""
    household: str | None = None
    languages: list[str] = Field(default_factory=list)
    talkativeness: float | None = Field(default=None, ge=0.0, le=1.0)
    """0 (speaks only when asked) .. 1 (always has something to add); the ``free`` turn
    policy uses it. Unset: derived from extraversion by the card renderer."""

    extra: dict[str, Any] = Field(default_factory=dict)
    """Anything else, kept verbatim (TinyTroupe fields Troupe does not model land here)."""

    @field_validator("name")
    @classmethod
    def _one_line_name(cls, value: str) -> str:
        """A name is one non-blank line: it heads transcript entries and is how the room
        addresses the persona (``@Name``)."""
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        if any(ch in value for ch in "\r\n\t\x0b\x0c\x85\u2028\u2029") or any(ord(ch) < 32 for ch in value):
            raise ValueError("must be one line of text (no line breaks or control characters)")
        return value

    @field_validator("slug")
    @classmethod
    def _slug_shape(cls, value: str) -> str:
        if value and slugify(value) != value:
            raise ValueError("use lower-case letters, digits and '-' only (e.g. 'maria-lopez')")
        return value

    @model_validator(mode="after")
    def _default_slug(self) -> Persona:
        if not self.slug:
            self.slug = slugify(self.name) or "persona"
        return self

    # -- derived views -------------------------------------------------------------------

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name

    @property
    def city(self) -> str:
        """First part of ``residence`` ("Seville" of "Seville, Spain")."""
        return (self.residence or "").split(",")[0].strip()

    @property
    def country(self) -> str:
        """Last part of ``residence`` ("Spain" of "Seville, Spain")."""
        return (self.residence or "").split(",")[-1].strip()

    def to_data(self) -> dict[str, Any]:
        """The normalised persona as plain JSON data, without unset or empty fields.

        ``extra`` is kept verbatim (even its empty values): it is the user's own data.
        """
        data = self.model_dump(mode="json")
        extra = data.pop("extra")
        data = _prune(data)
        if extra:
            data["extra"] = extra
        return data


def _prune(value: Any) -> Any:
    """Drop ``None`` and empty containers (recursively) so dumps show only what is set."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value
