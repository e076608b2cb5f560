"""The population factory: sample demographic skeletons from a spec, enrich each into a persona.

Two stages, as in the TinyTroupe paper's population sampling:

1. :func:`~troupe.personas.sampling.sample_skeletons` (``personas/sampling.py``) draws ``size`` demographic *skeletons* (age, gender, country and
   city, occupation, income, education, attitude levels) from a :class:`PopulationSpec`,
   deterministically for a seed. ``stratified`` sampling (the default) gives each attribute
   the counts its weights ask for, as closely as whole people allow (largest remainders; a
   normal age by stratified quantiles), then shuffles each attribute independently; ``random``
   draws independently. Quotas are then met by redrawing, for as few people as possible, only
   the attributes the quota selects on (conditioned on the quota), so the other attributes'
   distributions are untouched.
2. :class:`PopulationFactory` turns each skeleton into a full :class:`Persona` with **one**
   structured LLM call (:class:`PersonaNarrative`: name, style, traits, big five, beliefs,
   likes, habits, routines, goals…), run concurrently under a bound. The skeleton's fields
   are written over whatever the model or a fragment says, so the demographics are always the
   sampled ones. Names must be plausible (``names.plausible_name``) and unique: a clash or an
   implausible name gets one short name-only retry, then a common name for the country from
   the built-in bank (the scripted backend always ends there — its text is generic).

Names are accepted in skeleton order, whatever order the calls finish in, so a deterministic
backend gives the same files for the same seed. Each persona is written as Troupe TOML into
the output folder as soon as it is accepted; ``population.json`` (spec, seed, skeletons,
backend, model, usage, failures) is written last.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from troupe.core.errors import BackendError, BadInputError, InvalidOutputError
from troupe.core.llm.protocol import CallUsage, ChatBackend, ChatRequest, Message
from troupe.core.slugs import slugify
from troupe.core.validation import read_json

from .card import descriptor
from .fragments import merge_all
from .load import load_fragment
from .model import Persona
from .names import clean_name, fallback_name, plausible_name
from .population import DEFAULT_CONCURRENCY, MANIFEST, PopulationSpec
from .sampling import Skeleton, sample_skeletons
from .writer import persona_toml

MANIFEST_FORMAT = "troupe.population/1"


# -- the narrative the model writes ----------------------------------------------------------

FactorLevel = Literal["very low", "low", "medium-low", "medium", "medium-high", "high", "very high"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactorSketch(_Out):
    level: FactorLevel
    note: str = Field(description="How this shows in the person's daily life, in one short clause.")


class BigFiveSketch(_Out):
    openness: FactorSketch
    conscientiousness: FactorSketch
    extraversion: FactorSketch
    agreeableness: FactorSketch
    neuroticism: FactorSketch


class RoutinesSketch(_Out):
    morning: list[str] = Field(max_length=4, description="One to three habits, second person.")
    evening: list[str] = Field(max_length=4, description="One to three habits, second person.")
    weekend: list[str] = Field(max_length=4, description="One to three habits, second person.")


class RelationshipSketch(_Out):
    name: str = Field(description="First name of someone close (partner, child, friend, colleague).")
    description: str = Field(description="Who they are to the persona, second person ('Your sister, …').")


class PersonaNarrative(_Out):
    """What one enrichment call returns: everything about a persona except the demographics."""

    name: str = Field(
        description="Full name (given and family name) that fits the country, gender and age, in the Latin alphabet."
    )
    occupation_title: str = Field(description="Short job title. Exactly the given occupation when one is given.")
    occupation_organization: str = Field(description="Where the person works (a kind of employer or a plausible name).")
    occupation_description: str = Field(
        description="Two or three sentences, second person: what the work is like and what is hard about it."
    )
    household: str = Field(description="Who the person lives with; partner, children, parents.")
    languages: list[str] = Field(max_length=4, description="Languages spoken, with level when not native.")
    style: str = Field(description="How the person speaks, as direction to an actor: two or three sentences.")
    verbal_tics: list[str] = Field(
        min_length=1, max_length=5, description="Two to four phrases the person keeps using."
    )
    traits: list[str] = Field(
        min_length=2, max_length=7, description="Four to six personality traits, second person ('You are …')."
    )
    big_five: BigFiveSketch
    talkativeness: float = Field(
        ge=0.0, le=1.0, description="0 = speaks only when asked, 1 = always has something to add."
    )
    beliefs: list[str] = Field(
        min_length=2, max_length=8, description="Four to six opinions relevant to the study, with their reasons."
    )
    interests: list[str] = Field(min_length=1, max_length=8, description="Three to six specific interests.")
    likes: list[str] = Field(
        min_length=2, max_length=8, description="Four to six concrete likes (products, places, habits)."
    )
    dislikes: list[str] = Field(min_length=2, max_length=8, description="Four to six concrete dislikes.")
    skills: list[str] = Field(max_length=6, description="Two to four skills.")
    habits: list[str] = Field(min_length=1, max_length=6, description="Two to four general behaviours.")
    money_habits: list[str] = Field(
        max_length=5, description="Two or three habits with money, shaped by income and attitudes."
    )
    shopping_habits: list[str] = Field(
        max_length=5, description="Two or three habits when shopping, relevant to the study."
    )
    routines: RoutinesSketch
    health: str = Field(description="One or two sentences.")
    relationships: list[RelationshipSketch] = Field(
        max_length=4, description="Two or three people close to the persona."
    )
    long_term_goals: list[str] = Field(max_length=4, description="Two or three goals.")
    other_facts: list[str] = Field(
        max_length=6, description="Three to five specific facts: places, brands, history, quirks."
    )


class NameChoice(_Out):
    name: str = Field(
        description="Full name (given and family name) that fits the country, gender and age, in the Latin alphabet."
    )


SYSTEM_PROMPT = (
    "You create realistic personas for simulated qualitative research (focus groups and interviews), "
    "in the manner of TinyTroupe. A persona is one specific person, not an average: concrete places, brands, "
    "numbers and routines, opinions with their reasons, small contradictions. Write descriptions in the "
    "second person (You …) and the speaking style as direction to an actor. Keep every fixed fact exactly as "
    "given and make the rest consistent with it: age, gender, place, occupation, income (relative to the "
    "country), education and the stated attitudes must show in the beliefs, habits, likes and dislikes. "
    "Avoid stereotypes and caricature, and do not make everyone agreeable: real panels have sceptics, quiet "
    "people and contrarians. Reply with one JSON object that matches the schema."
)


def fixed_facts(skeleton: Skeleton) -> list[str]:
    """The skeleton as ``- label: value`` lines for the prompt."""
    s = skeleton
    lines = [f"age: {s.age}", f"gender: {s.gender}", f"lives in: {s.residence}"]
    if s.nationality:
        lines.append(f"nationality: {s.nationality}")
    if s.languages:
        lines.append(f"languages: {', '.join(s.languages)}")
    lines.append(
        f"occupation: {s.occupation_title}"
        if s.occupation
        else "occupation: choose one that fits the study and the person"
    )
    if s.income:
        lines.append(f"income bracket: {s.income} for {s.country}")
    if s.education:
        lines.append(f"education: {s.education}")
    for name, level in s.attitudes.items():
        lines.append(f"{name.replace('_', ' ')}: {level}")
    for column, value in s.survey.items():
        lines.append(f"survey answer, {column}: {value}")
    return [f"- {line}" for line in lines]


def narrative_messages(
    spec: PopulationSpec, skeleton: Skeleton, total: int, shared: list[dict[str, Any]]
) -> list[Message]:
    parts = []
    if spec.context.strip():
        parts.append(f"Study context: {spec.context.strip()}")
    parts.append(f"Panel member {skeleton.index + 1} of {total}.")
    parts.append("Fixed facts (do not change them):\n" + "\n".join(fixed_facts(skeleton)))
    if shared:
        parts.append(
            "Everyone in this study also has the following, which is added to the persona afterwards; stay "
            "consistent with it and do not repeat it:\n" + json.dumps(merge_all({}, shared), ensure_ascii=False)
        )
    parts.append(
        f"Write the rest of this person. The name: a full name that a {skeleton.gender.lower()} person aged "
        f"{skeleton.age} living in {skeleton.residence} would plausibly have, typical of the country and generation, "
        "not a celebrity, written in the Latin alphabet (romanised if the country uses another script)."
    )
    return [Message("system", SYSTEM_PROMPT), Message("user", "\n\n".join(parts))]


def name_messages(skeleton: Skeleton, taken: list[str]) -> list[Message]:
    facts = "\n".join(fixed_facts(skeleton))
    recent = ", ".join(taken[-60:]) if taken else "none"
    return [
        Message(
            "system",
            "You suggest realistic full names for simulated research participants. Reply with one JSON object.",
        ),
        Message(
            "user",
            f"A person with these facts:\n{facts}\n\nSuggest a full name (given and family name) typical of the "
            f"country for a {skeleton.gender.lower()} person aged {skeleton.age} living in {skeleton.residence}, in the "
            "Latin alphabet. "
            "These names are already "
            f"taken, choose a clearly different one: {recent}.",
        ),
    ]


def build_persona(skeleton: Skeleton, narrative: PersonaNarrative, name: str, shared: list[dict[str, Any]]) -> Persona:
    """Assemble the persona: the narrative, then the shared fragments, then the skeleton on top.

    Raises :class:`InvalidOutputError` if the result does not validate (a bug, or a fragment
    that clashes with generated values).
    """
    n = narrative
    data: dict[str, Any] = {
        "name": name,
        "household": n.household,
        "languages": n.languages,
        "talkativeness": round(n.talkativeness, 2),
        "style": n.style,
        "verbal_tics": n.verbal_tics,
        "occupation": {
            "title": n.occupation_title,
            "organization": n.occupation_organization,
            "description": n.occupation_description,
        },
        "personality": {
            "traits": n.traits,
            "big_five": {f: _factor_text(getattr(n.big_five, f)) for f in BigFiveSketch.model_fields},
        },
        "preferences": {"interests": n.interests, "likes": n.likes, "dislikes": n.dislikes},
        "beliefs": n.beliefs,
        "skills": n.skills,
        "behaviors": {
            "general": n.habits,
            "routines": {k: v for k, v in n.routines.model_dump().items() if v},
            **({"money": n.money_habits} if n.money_habits else {}),
            **({"shopping": n.shopping_habits} if n.shopping_habits else {}),
        },
        "health": n.health,
        "relationships": [r.model_dump() for r in n.relationships if r.name.strip()],
        "long_term_goals": n.long_term_goals,
        "other_facts": n.other_facts,
    }
    data = merge_all(data, shared)
    s = skeleton
    data.update({"name": name, "age": s.age, "gender": s.gender, "residence": s.residence})
    for key, value in (("nationality", s.nationality), ("income", s.income), ("education", s.education)):
        if value is not None:
            data[key] = value
    if s.languages:
        data["languages"] = list(s.languages)
    if s.occupation:
        data["occupation"] = {**data.get("occupation", {}), "title": s.occupation_title}
    if s.attitudes:
        extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
        data["extra"] = {**extra, "attitudes": dict(s.attitudes)}
    if s.survey:
        extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
        data["extra"] = {**extra, "survey": dict(s.survey)}
    data["slug"] = slugify(name)
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        raise InvalidOutputError(f"the generated persona did not validate: {exc.errors()[0]['msg']}") from None


def _factor_text(factor: FactorSketch) -> str:
    note = factor.note.strip()
    if note:
        note = note[0].upper() + note[1:]
        if note[-1] not in ".!?":
            note += "."
    return f"{factor.level.capitalize()}. {note}".strip()


# -- the factory ------------------------------------------------------------------------------


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, calls: list[CallUsage]) -> None:
        for c in calls:
            self.calls += 1
            self.prompt_tokens += c.prompt_tokens
            self.completion_tokens += c.completion_tokens
            self.cost_usd += c.cost_usd


@dataclass
class Generated:
    skeleton: Skeleton
    persona: Persona
    path: Path
    name_source: Literal["model", "retry", "fallback"]


@dataclass
class Failed:
    skeleton: Skeleton
    error: str


Outcome = Generated | Failed


@dataclass
class PopulationResult:
    out_dir: Path
    manifest: Path
    generated: list[Generated] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    aborted: str | None = None
    """Set when a backend failure stopped the run (the message)."""


def check_out_dir(out_dir: str | Path, *, force: bool) -> Path:
    """Refuse a folder that already holds a population or persona files, unless ``force``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInputError("not a folder", path=str(out))
    if out.is_dir() and not force:
        held = [p.name for p in out.iterdir() if p.name == MANIFEST or p.suffix.lower() == ".toml"]
        if held:
            what = MANIFEST if MANIFEST in held else f"{len(held)} persona file{'s' if len(held) > 1 else ''}"
            raise BadInputError(f"already holds {what}; use --force to replace them", path=str(out))
    return out


def _clear_previous(out: Path) -> None:
    """With ``--force``: remove the persona files the previous population's manifest lists."""
    manifest = out / MANIFEST
    if not manifest.is_file():
        return
    try:
        data = read_json(manifest)
    except BadInputError:
        return
    for item in data.get("personas", []) if isinstance(data, dict) else []:
        name = item.get("file") if isinstance(item, dict) else None
        if isinstance(name, str) and Path(name).name == name and name.endswith(".toml"):
            (out / name).unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class PopulationFactory:
    """Enrich skeletons into personas with one structured call each (see the module docstring)."""

    def __init__(
        self,
        spec: PopulationSpec,
        backend: ChatBackend,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        temperature: float = 0.9,
        max_tokens: int = 4096,
        like: dict[str, Any] | None = None,
        name_retry: bool = True,
    ) -> None:
        self.spec = spec
        self.name_retry = name_retry
        """Ask the model again for a name it gave implausible or taken. Off for batch engines:
        names are settled one persona at a time, so each retry would be a batch of its own
        (hours); the name bank is used at once instead."""
        self.like = like
        """For a panel made from a survey (``--like``): the CSV, its columns and the mode, for the manifest."""
        self.backend = backend
        self.concurrency = max(1, concurrency)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.shared = [load_fragment(p) for p in spec.fragment_paths()]
        self.usage = Usage()

    async def narrate(self, skeleton: Skeleton, total: int, seed: int) -> PersonaNarrative:
        """The one enrichment call (a second, fresh attempt only if the reply stays invalid
        after the backend's own repair)."""
        messages = narrative_messages(self.spec, skeleton, total, self.shared)
        for attempt in range(2):
            request = ChatRequest(
                messages=messages,
                output_model=PersonaNarrative,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=seed * 100_003 + skeleton.index + attempt * 7919,
                purpose="persona",
                metadata={"card": {"traits": _flavour(skeleton)}},
            )
            try:
                response = await self.backend.complete(request)
            except InvalidOutputError as exc:
                self.usage.add(exc.calls)
                if attempt:
                    raise
                continue
            self.usage.add(response.calls)
            assert isinstance(response.parsed, PersonaNarrative)
            return response.parsed
        raise AssertionError("unreachable")  # pragma: no cover

    async def choose_name(
        self, skeleton: Skeleton, proposed: str, taken: dict[str, str], seed: int
    ) -> tuple[str, Literal["model", "retry", "fallback"]]:
        """The model's name if plausible and unused; else one name-only retry; else the bank."""
        name = clean_name(proposed)
        if plausible_name(name) and slugify(name) not in taken:
            return name, "model"
        if not self.name_retry:
            rng = random.Random(f"{seed}|{skeleton.index}|name")
            return fallback_name(skeleton.country, skeleton.gender, taken, rng), "fallback"
        request = ChatRequest(
            messages=name_messages(skeleton, list(taken.values())),
            output_model=NameChoice,
            temperature=1.0,
            max_tokens=60,
            seed=seed * 100_003 + skeleton.index,
            purpose="persona_name",
            metadata={"card": {"traits": _flavour(skeleton)}},
        )
        try:
            response = await self.backend.complete(request)
            self.usage.add(response.calls)
            assert isinstance(response.parsed, NameChoice)
            name = clean_name(response.parsed.name)
            if plausible_name(name) and slugify(name) not in taken:
                return name, "retry"
        except InvalidOutputError as exc:
            self.usage.add(exc.calls)
        rng = random.Random(f"{seed}|{skeleton.index}|name")
        return fallback_name(skeleton.country, skeleton.gender, taken, rng), "fallback"

    async def generate(
        self,
        skeletons: list[Skeleton],
        out_dir: str | Path,
        *,
        seed: int,
        force: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> PopulationResult:
        """Enrich every skeleton, writing each persona file as it is accepted, then the manifest."""
        out = check_out_dir(out_dir, force=force)
        if force:
            _clear_previous(out)
        out.mkdir(parents=True, exist_ok=True)
        result = PopulationResult(out_dir=out, manifest=out / MANIFEST, usage=self.usage)
        bound = asyncio.Semaphore(self.concurrency)
        total = len(skeletons)

        async def bounded(s: Skeleton) -> PersonaNarrative:
            async with bound:
                return await self.narrate(s, total, seed)

        tasks = [asyncio.ensure_future(bounded(s)) for s in skeletons]
        taken: dict[str, str] = {}
        try:
            for skeleton, task in zip(skeletons, tasks):
                outcome = await self._accept(skeleton, task, taken, out, seed, result)
                if isinstance(outcome, Generated):
                    result.generated.append(outcome)
                else:
                    result.failed.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.write_manifest(result, skeletons, seed)
        return result

    async def _accept(
        self,
        skeleton: Skeleton,
        task: asyncio.Future[PersonaNarrative],
        taken: dict[str, str],
        out: Path,
        seed: int,
        result: PopulationResult,
    ) -> Outcome:
        if result.aborted:
            return Failed(skeleton, f"not generated: {result.aborted}")
        try:
            narrative = await task
            name, source = await self.choose_name(skeleton, narrative.name, taken, seed)
            persona = build_persona(skeleton, narrative, name, self.shared)
        except BackendError as exc:
            if exc.fatal:  # will not get better by trying the next persona: stop at once
                result.aborted = str(exc)
            return Failed(skeleton, str(exc))
        taken[persona.slug] = persona.name
        path = out / f"{persona.slug}.toml"
        _write_text(path, persona_toml(persona, header=self._header(persona, skeleton, seed)))
        return Generated(skeleton, persona, path, source)

    def _header(self, persona: Persona, skeleton: Skeleton, seed: int) -> str:
        spec_name = self.spec.path.name if self.spec.path else "a population spec"
        if self.like is not None:
            row = f", twin of row {skeleton.source_row}" if skeleton.source_row is not None else ""
            spec_name = f"the survey {Path(str(self.like.get('csv', '?'))).name}{row}"
        model = getattr(self.backend, "model", None) or "default model"
        return (
            f"{persona.name} — {descriptor(persona)}.\n"
            f"Generated by `troupe personas generate` from {spec_name} (seed {seed}, skeleton {skeleton.index}) "
            f"with the {getattr(self.backend, 'name', 'unknown')} backend ({model}).\n"
            "A simulated participant: edit freely; `troupe personas validate` checks the file."
        )

    def write_manifest(self, result: PopulationResult, skeletons: list[Skeleton], seed: int) -> None:
        by_index: dict[int, Outcome] = {o.skeleton.index: o for o in [*result.generated, *result.failed]}
        manifest = {
            "format": MANIFEST_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "spec_path": str(self.spec.path) if self.spec.path else None,
            "spec": self.spec.model_dump(mode="json"),
            "size": len(skeletons),
            "seed": seed,
            **({"like": self.like} if self.like is not None else {}),
            "backend": getattr(self.backend, "name", None),
            "model": getattr(self.backend, "model", None),
            "personas": [
                {
                    "file": o.path.name,
                    "name": o.persona.name,
                    "name_source": o.name_source,
                    "skeleton": o.skeleton.model_dump(mode="json"),
                }
                for o in result.generated
            ],
            "failed": [{"error": o.error, "skeleton": o.skeleton.model_dump(mode="json")} for o in result.failed]
            + [
                {"error": "not generated", "skeleton": s.model_dump(mode="json")}
                for s in skeletons
                if s.index not in by_index
            ],
            "usage": {
                "calls": result.usage.calls,
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "cost_usd": round(result.usage.cost_usd, 6),
            },
        }
        _write_text(result.manifest, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _flavour(skeleton: Skeleton) -> dict[str, Any]:
    """Traits for backends that do not read the prompt (the scripted backend's flavour)."""
    return {
        "age": skeleton.age,
        "gender": skeleton.gender,
        "occupation": skeleton.occupation_title or "",
        "city": skeleton.city or "",
        "country": skeleton.country,
        "income": skeleton.income,
    }


async def generate_population(
    spec: PopulationSpec,
    backend: ChatBackend,
    out_dir: str | Path,
    *,
    size: int | None = None,
    seed: int | None = None,
    force: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> PopulationResult:
    """Sample ``size`` skeletons with ``seed`` and enrich them into persona files in ``out_dir``."""
    used_seed = spec.seed if seed is None else seed
    skeletons = sample_skeletons(spec, size=size, seed=used_seed)
    factory = PopulationFactory(spec, backend, concurrency=concurrency)
    return await factory.generate(skeletons, out_dir, seed=used_seed, force=force, on_outcome=on_outcome)
