"""Hypothesis fuzzing of every loader (issue 15): guides, personas (TOML, JSON, TinyTroupe),
population specs, configs, human CSVs and run logs.

Each loader gets ≥ 300 inputs: a valid seed file mutated line by line (values swapped for
hostile tokens, lines dropped, duplicated or cut, deep nesting, control characters), random
text and random bytes. Property: the loader either loads, or raises :class:`BadInputError`
(exit 2) whose message is one line — never any other exception (a traceback at the CLI).

The loaders are called in-process to keep the suite fast; ``test_bad_input.py`` covers the
CLI's exit codes on the same families of damage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troupe.core.config import load_settings
from troupe.core.errors import BadInputError
from troupe.core.log import read_events
from troupe.core.poll_stats import collect_polls
from troupe.personas.load import load_persona
from troupe.personas.population import load_spec
from troupe.sessions.guide import load_guide
from troupe.sessions.human_validation import read_human_answers
from troupe.sessions.transcript import build_transcript

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 300
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOKENS = [
    '"x"',
    '""',
    '"   "',
    "0",
    "-1",
    "1e999",
    "-1e999",
    "nan",
    "inf",
    "true",
    "null",
    "[]",
    "{}",
    "[[",
    "]]",
    "=",
    ",",
    ":",
    "{",
    "}",
    "'''",
    '"""',
    '"\\n## Fake\\n**Moderator:** x"',
    '"\\u0000"',
    "\x00",
    "\u2028",
    "é",
    "[" * 40 + "]" * 40,
    "[" * 1200 + "]" * 1200,
    "{" + '"a":{' * 600 + "}" * 601,
    "a = " + "[" * 1100,
    '"' + "x" * 5000 + '"',
    "99999999999999999999999999",
    '[1, "a", {}]',
]


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> bytes:
    """The seed, damaged by a few random edits; or random text; or random bytes."""
    mode = draw(st.integers(0, 9))
    if mode == 0:
        return draw(st.binary(max_size=300))
    if mode == 1:
        return draw(st.text(max_size=300)).encode("utf-8")
    lines = seed.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 6))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=12))
        line = lines[i]
        if op == 0 and ("=" in line or ":" in line):  # a value swapped for a hostile token
            sep = "=" if "=" in line else ":"
            key = line.split(sep, 1)[0]
            lines[i] = f"{key}{sep} {token}" + ("," if line.rstrip().endswith(",") else "")
        elif op == 1:
            del lines[i]
        elif op == 2:
            lines.insert(i, line)
        elif op == 3:
            cut = draw(st.integers(0, len(line)))
            lines[i] = line[:cut]
        elif op == 4:
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + token + line[at:]
        elif op == 5:
            lines.insert(i, token)
        else:
            lines = lines[: i + 1]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def check(load, path: Path) -> None:
    try:
        load(path)
    except BadInputError as exc:
        assert "\n" not in str(exc) and str(exc).strip(), repr(str(exc))


def seed_text(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def fuzz_file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


# -- guides, personas, specs, configs -----------------------------------------------------------------

GUIDE = seed_text("sessions/guides/concept-test.toml")
PERSONA_TOML = seed_text("personas/library/maria-lopez.toml")
PERSONA_JSON = json.dumps(__import__("tomllib").loads(PERSONA_TOML), indent=1, ensure_ascii=False)
TINYTROUPE = seed_text("tests/personas/fixtures/tinytroupe/Lisa.agent.json")
SPEC = """\
title = "UK ready-meal buyers"
context = "UK grocery shoppers who buy a supermarket ready meal at least once a week."
size = 6
seed = 11
gender = { Female = 52, Male = 46, "Non-binary" = 2 }
occupations = { nurse = 3, teacher = 2, "software developer" = 2, "retail assistant" = 3 }
income = { low = 20, lower-middle = 30, middle = 30, upper-middle = 15, high = 5 }
education = ["Secondary school", "Vocational qualification", "University degree"]

[age]
bands = [
  { min = 18, max = 34, weight = 30 },
  { min = 35, max = 80, weight = 70 },
]

[[countries]]
name = "United Kingdom"
weight = 4
nationality = "British"
languages = ["English"]
cities = { London = 3, Leeds = 1 }

[attitudes]
price_sensitivity = { Low = 20, Medium = 40, High = 40 }
"""
CONFIG = """\
backend = "scripted"
model = "gpt-4.1-mini"
timeout_s = 30
retry_budget_s = 120
max_concurrency = 16
[cache]
mode = "off"
[memory]
retrieval = "lexical"
[prices."my-model"]
input = 0.4
output = 1.6
"""


@FUZZ
@given(data=mutated(GUIDE))
def test_fuzz_guides(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check(load_guide, fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-guide.toml", data))


@FUZZ
@given(data=mutated(PERSONA_TOML))
def test_fuzz_personas_toml(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check(load_persona, fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-persona.toml", data))


@FUZZ
@given(data=mutated(PERSONA_JSON))
def test_fuzz_personas_json(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check(load_persona, fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-persona.json", data))


@FUZZ
@given(data=mutated(TINYTROUPE))
def test_fuzz_personas_tinytroupe(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check(load_persona, fuzz_file(tmp_path_factory.getbasetemp(), "fuzz.agent.json", data))


@FUZZ
@given(data=mutated(SPEC))
def test_fuzz_population_specs(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check(load_spec, fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-spec.toml", data))


@FUZZ
@given(data=mutated(CONFIG))
def test_fuzz_configs(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check(load_settings, fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-config.toml", data))


def test_the_seeds_are_valid(tmp_path: Path) -> None:
    """The fuzzers start from valid files, so their mutations reach deep into validation."""
    load_guide(fuzz_file(tmp_path, "g.toml", GUIDE.encode()))
    load_persona(fuzz_file(tmp_path, "p.toml", PERSONA_TOML.encode()))
    load_persona(fuzz_file(tmp_path, "p.json", PERSONA_JSON.encode()))
    load_persona(fuzz_file(tmp_path, "p.agent.json", TINYTROUPE.encode()))
    load_spec(fuzz_file(tmp_path, "s.toml", SPEC.encode()))
    load_settings(fuzz_file(tmp_path, "c.toml", CONFIG.encode()))


# -- human CSVs and run logs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def poll(clean_run: Path):
    return next(p for p in collect_polls(read_events(clean_run / "events.jsonl")) if p.poll_id == "intent")


CSV = 'respondent,score,comment\n1,4,good\n2,5,"great, really"\n3,2,meh\n4,3,\n5,1,no\n'


@FUZZ
@given(data=mutated(CSV), column=st.sampled_from(["score", "Score", "comment", "nope", ""]))
def test_fuzz_human_csvs(tmp_path_factory: pytest.TempPathFactory, poll, data: bytes, column: str) -> None:
    path = fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-human.csv", data)
    check(lambda p: read_human_answers(p, column, poll), path)


@pytest.fixture(scope="module")
def log_seed(clean_run: Path) -> str:
    return (clean_run / "events.jsonl").read_text(encoding="utf-8")


@FUZZ
@given(data=st.data())
def test_fuzz_run_logs(tmp_path_factory: pytest.TempPathFactory, log_seed: str, data: st.DataObject) -> None:
    raw = data.draw(mutated(log_seed))
    path = fuzz_file(tmp_path_factory.getbasetemp(), "fuzz-events.jsonl", raw)

    def load(p: Path) -> None:  # what export, report, resume and branch all do first
        build_transcript(read_events(p))

    check(load, path)
