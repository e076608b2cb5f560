"""``troupe personas list | show | validate`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from troupe.personas.library import library_dir, resolve_persona
from troupe.personas.model import Persona
from troupe.sessions.cli import main


def test_list_shows_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas", "list"]) == 0
    out = capsys.readouterr().out
    for needle in ("maria-lopez", "zoe-tremblay", "Lars Nilsson", "78", "truck driver", "Shenzhen"):
        assert needle in out


@pytest.mark.parametrize("name", ["Lisa.agent.json", "Oscar.agent.json", "travel_enthusiast.agent.fragment.json"])
def test_show_prints_every_leaf_of_a_tinytroupe_file(tinytroupe_dir: Path, leaves, capsys, name: str) -> None:
    path = tinytroupe_dir / name
    assert main(["personas", "show", str(path)]) == 0
    out = capsys.readouterr().out
    source = json.loads(path.read_text(encoding="utf-8"))
    for leaf in leaves(source["persona"]):
        assert str(leaf) in out, leaf
    assert "Traceback" not in out


def test_show_fragment_as_json_and_refuses_a_card(tinytroupe_dir: Path, capsys) -> None:
    path = tinytroupe_dir / "travel_enthusiast.agent.fragment.json"
    assert main(["personas", "show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(path.read_text(encoding="utf-8"))["persona"]
    assert main(["personas", "show", str(path), "--card"]) == 2
    assert "a fragment has no card" in capsys.readouterr().err


def test_show_prints_extra_and_nested_structure(write, capsys) -> None:
    path = write(
        "x.agent.json",
        {
            "type": "TinyPerson",
            "persona": {"name": "X Y", "hobby": {"kind": "chess", "years": 12}, "notes": "line one\nline two"},
        },
    )
    assert main(["personas", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "extra:\n  hobby:\n    kind: chess\n    years: 12\n" in out
    assert "  notes: |\n      line one\n      line two\n" in out


def test_show_a_library_persona_outlines_relationships(capsys) -> None:
    assert main(["personas", "show", "tom"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Tom Becker (tom-becker)\n")
    assert "relationships:\n  - name: Gary\n    description: Your son" in out
    assert "behaviors:\n  general:\n    - Answers a long question" in out
    assert "  money:\n    - Pays cash wherever you can.\n" in out


def test_show_json_round_trips(capsys) -> None:
    assert main(["personas", "show", "maria-lopez", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["slug"] == "maria-lopez" and data["behaviors"]["money"]
    assert Persona.model_validate(data) == resolve_persona("maria-lopez")


def test_show_card_prints_prompt_with_token_estimate(capsys) -> None:
    assert main(["personas", "show", "Lars Nilsson", "--card", "--budget", "300"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Lars Nilsson · 60 · dairy farmer · Jämtland\n")
    assert "tokens (budget 300)" in out and "short prompt:" in out
    assert "You are Lars Nilsson, 60, a dairy farmer" in out
    assert "  talkativeness: 0.1" in out


def test_show_unknown_name_is_bad_input(capsys) -> None:
    assert main(["personas", "show", "Mariah Lopez"]) == 2
    err = capsys.readouterr().err
    assert "maria-lopez" in err and "Traceback" not in err


def test_validate_accepts_library_and_tinytroupe(tinytroupe_dir: Path, capsys) -> None:
    assert main(["personas", "validate", str(library_dir()), str(tinytroupe_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count("OK  ") == 17
    assert "Lisa Carter (lisa), TinyTroupe persona" in out
    assert "TinyTroupe fragment (3 fields)" in out


BAD = {
    "bad-toml.toml": ('name = "X"\nage = \n', None),
    "bad-json.json": ('{"name": ', None),
    "wrong-type.toml": ('name = "X"\nage = "forty"\n', "age"),
    "no-name.toml": ("age = 40\n", "name"),
    "unknown.toml": ('name = "X"\nfavourite_colour = "blue"\n', "favourite_colour"),
    "nested.json": ('{"name": "X", "occupation": {"titel": "nurse"}}', "occupation.titel"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_validate_rejects_each_bad_file_with_one_line(write, capsys, name: str) -> None:
    content, field = BAD[name]
    path = write(name, content)
    assert main(["personas", "validate", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith(f"{path}: ")
    if field:
        assert lines[0].startswith(f"{path}: {field}: ")
    assert lines[1:] == ["troupe: 1 bad file"]
    assert "Traceback" not in captured.err + captured.out


def test_validate_reports_every_bad_file_and_the_good_ones(write, capsys) -> None:
    good = write("good.toml", 'name = "Good"\n')
    bad = [write(name, content) for name, (content, _) in sorted(BAD.items())]
    assert main(["personas", "validate", str(bad[0]), str(good), *map(str, bad[1:])]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"OK  {good}  Good (good), Troupe persona\n"
    errors = captured.err.splitlines()
    assert [line.split(": ")[0] for line in errors[:-1]] == [str(p) for p in bad]
    assert errors[-1] == f"troupe: {len(bad)} bad files"


def test_show_bad_file_exits_2_without_traceback(write, capsys) -> None:
    path = write("t.toml", 'name = "X"\nage = "x"\n')
    assert main(["personas", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"troupe: {path}: age: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_validate_a_folder_with_a_non_utf8_file_exits_2_without_traceback(tmp_path: Path, capsys) -> None:
    (tmp_path / "good.toml").write_text('name = "Good"\n', encoding="utf-8")
    (tmp_path / "latin1.toml").write_bytes('name = "Zoé"\n'.encode("latin-1"))
    assert main(["personas", "validate", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"{tmp_path / 'latin1.toml'}: not UTF-8 text", "troupe: 1 bad file"]
    assert "Traceback" not in captured.err
