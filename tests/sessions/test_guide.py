"""The guide format: validation, one-line errors naming file/section/key, stimulus order."""

from __future__ import annotations

from pathlib import Path

import pytest

from troupe.core.errors import BadInputError
from troupe.sessions.guide import Guide, load_guide, parse_guide

MINIMAL = """
title = "Test guide"
kind = "focus_group"

[panel]
personas = ["maria-lopez", "tom-becker"]

[[sections]]
title = "Warm-up"
prompt = "Hello."

[[sections]]
title = "Concept reactions"
prompt = "React."
{extra}
"""


def write(tmp_path: Path, text: str, name: str = "guide.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(BadInputError) as info:
        load_guide(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_minimal_guide_loads_with_defaults(tmp_path: Path) -> None:
    guide = load_guide(write(tmp_path, MINIMAL.format(extra="")))
    assert guide.title == "Test guide"
    assert [s.title for s in guide.sections] == ["Warm-up", "Concept reactions"]
    assert guide.policy_for(guide.sections[0]) == "parallel"
    assert guide.rounds_for(guide.sections[1]) == 1
    assert guide.source is not None and guide.source.name == "guide.toml"


def test_bad_poll_kind_names_file_section_title_and_key(tmp_path: Path) -> None:
    extra = '[[sections.polls]]\nid = "intent"\nquestion = "Buy?"\nkind = "likert9"\n'
    path = write(tmp_path, MINIMAL.format(extra=extra))
    message = error_of(path)
    assert message.startswith(f'{path}: sections[1] "Concept reactions": polls[0].kind: Input should be')


def test_unknown_key_in_a_section_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.format(extra='colour = "red"\n'))
    assert error_of(path) == f'{path}: sections[1] "Concept reactions": colour: unknown key'


def test_unknown_top_level_key_and_missing_title(tmp_path: Path) -> None:
    path = write(tmp_path, 'titel = "x"\n[[sections]]\ntitle = "A"\n')
    message = error_of(path)
    assert message.startswith(f"{path}: title: required key is missing")
    assert "1 more problem" in message


def test_section_without_title_is_named_by_index(tmp_path: Path) -> None:
    path = write(tmp_path, 'title = "x"\n[[sections]]\nprompt = "Hi"\n')
    assert error_of(path) == f"{path}: sections[0]: title: required key is missing"


def test_poll_validator_message_keeps_its_location(tmp_path: Path) -> None:
    extra = '[[sections.polls]]\nid = "pick"\nquestion = "Which?"\nkind = "single"\n'
    path = write(tmp_path, MINIMAL.format(extra=extra))
    assert error_of(path) == f'{path}: sections[1] "Concept reactions": polls[0].options: a single poll needs options'


@pytest.mark.parametrize(
    ("poll", "expected"),
    [
        (
            'kind = "number"\noptions = ["a", "b"]\n',
            "polls[0].options: a number poll takes no options (they are for single, multi and Likert polls)",
        ),
        ('kind = "text"\noptions = ["a"]\n', "polls[0].options: a text poll takes no options"),
        ('kind = "likert5"\nmin = 1\n', "polls[0].min: min applies to number polls only"),
        ('kind = "single"\noptions = ["Only"]\n', "polls[0].options: a single poll needs at least two options"),
        ('kind = "multi"\noptions = ["A", "B", " a"]\n', "polls[0].options[2]: ' a' is listed twice"),
        ('kind = "multi"\noptions = ["A", "B"]\nmax_choices = 3\n', "polls[0].max_choices: max_choices is 3"),
        ('kind = "number"\nmin = 5\nmax = 1\n', "polls[0].min: min is greater than max"),
    ],
)
def test_poll_settings_that_do_not_fit_its_kind_are_refused(tmp_path: Path, poll: str, expected: str) -> None:
    extra = f'[[sections.polls]]\nid = "q"\nquestion = "Q?"\n{poll}'
    path = write(tmp_path, MINIMAL.format(extra=extra))
    assert error_of(path).startswith(f'{path}: sections[1] "Concept reactions": {expected}')


def test_duplicate_poll_id_points_at_the_second_use(tmp_path: Path) -> None:
    text = MINIMAL.format(extra='[[sections.polls]]\nid = "intent"\nquestion = "Buy?"\n')
    text = text.replace('prompt = "Hello."', 'prompt = "Hello."\n[[sections.polls]]\nid = "intent"\nquestion = "Q?"', 1)
    path = write(tmp_path, text)
    assert error_of(path) == (
        f"{path}: sections[1] \"Concept reactions\": polls[0].id: poll id 'intent' is already used in sections[0]"
    )


def test_persona_seated_twice(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.format(extra="").replace('"tom-becker"', '"Maria-Lopez "'))
    assert error_of(path) == f"{path}: panel.personas[1]: 'Maria-Lopez ' is seated twice"


def test_concept_stimulus_needs_a_title(tmp_path: Path) -> None:
    extra = '[[sections.stimuli]]\nkind = "concept"\ntext = "A soup."\n'
    path = write(tmp_path, MINIMAL.format(extra=extra))
    assert (
        error_of(path) == f'{path}: sections[1] "Concept reactions": stimuli[0].title: a concept stimulus needs a title'
    )


def test_image_stimulus_must_exist_relative_to_the_guide(tmp_path: Path) -> None:
    extra = '[[sections.stimuli]]\nkind = "image"\npath = "pack.png"\ntext = "A red bottle."\n'
    path = write(tmp_path, MINIMAL.format(extra=extra))
    assert error_of(path) == f'{path}: sections[1] "Concept reactions": stimuli[0].path: image file not found: pack.png'
    (tmp_path / "pack.png").write_bytes(b"\x89PNG")
    guide = load_guide(path)
    assert guide.resolve_path("pack.png") == tmp_path / "pack.png"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'title = "unterminated\n')
    assert error_of(path).startswith(f"{path}: invalid TOML")
    with pytest.raises(BadInputError, match="session file not found"):
        load_guide(tmp_path / "nope.toml")
    with pytest.raises(BadInputError, match=r"no session named 'nope' \(shipped: .*concept-test"):
        load_guide("nope")


def test_parse_guide_round_trips_the_dump_a_run_records() -> None:
    guide = load_guide("concept-test")
    again = parse_guide(guide.model_dump(mode="json"))
    assert again.model_dump() == guide.model_dump()


def _stim_guide(order: str, n: int = 3) -> Guide:
    stimuli = [{"kind": "text", "title": f"S{i}", "text": f"Stimulus {i}"} for i in range(n)]
    return Guide.model_validate(
        {"title": "t", "sections": [{"title": "s", "stimuli": stimuli, "stimuli_order": order}]}
    )


def test_rotate_shows_every_stimulus_first_once_over_n_seeds() -> None:
    section = _stim_guide("rotate").sections[0]
    firsts = [section.ordered_stimuli(seed)[0].title for seed in range(3)]
    assert sorted(firsts) == ["S0", "S1", "S2"]
    assert [s.title for s in section.ordered_stimuli(1)] == ["S1", "S2", "S0"]


def test_fixed_and_shuffle_orders() -> None:
    fixed = _stim_guide("fixed").sections[0]
    assert [s.title for s in fixed.ordered_stimuli(7)] == ["S0", "S1", "S2"]
    shuffled = _stim_guide("shuffle", 6).sections[0]
    once = [s.title for s in shuffled.ordered_stimuli(4)]
    assert once == [s.title for s in shuffled.ordered_stimuli(4)]  # reproducible per seed
    assert sorted(once) == [f"S{i}" for i in range(6)]
    orders = {tuple(s.title for s in shuffled.ordered_stimuli(seed)) for seed in range(10)}
    assert len(orders) > 1


def test_total_rounds_counts_rounds_after_each_stimulus() -> None:
    guide = Guide.model_validate(
        {
            "title": "t",
            "defaults": {"rounds": 2},
            "sections": [
                {"title": "a"},
                {"title": "b", "rounds": 1, "stimuli": [{"text": "x"}, {"text": "y"}]},
            ],
        }
    )
    assert guide.total_rounds() == 2 + 2


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            '[[sections.polls]]\nid = "intent"\nquestion = "Buy?"\nkind = "likert9"\n',
            'sections[1] "Concept reactions": polls[0].kind: Input should be',
        ),
        ("rounds = -1\n", 'sections[1] "Concept reactions": rounds: Input should be greater than or equal to 0'),
        ('policy = "chaos"\n', 'sections[1] "Concept reactions": policy: Input should be'),
    ],
)
def test_bad_guide_through_troupe_run_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: str
) -> None:
    from troupe.sessions.cli import main

    path = write(tmp_path, MINIMAL.format(extra=extra))
    code = main(["run", str(path), "--headless", "--backend", "scripted", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"troupe: {path}: {expected}")
    assert not (tmp_path / "run" / "events.jsonl").exists()
