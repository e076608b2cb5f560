"""Defects 2, 6 and 7 of issue 15: bad input is one line and exit 2, never a traceback, and
what is too lenient is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.conftest import copy_run
from troupe.sessions.cli import main

DEEP = 1000


def one_line_exit(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 2) -> str:
    got = main(argv)
    err = capsys.readouterr().err.strip()
    assert got == code, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# -- defect 2: tracebacks on bad input ----------------------------------------------------------


@pytest.mark.parametrize("where", ["guide", "persona_toml", "persona_json", "config", "spec"])
def test_a_thousand_levels_of_nesting_is_bad_input_in_every_loader(
    tmp_path: Path, capsys, monkeypatch, where: str
) -> None:
    nested = "[" * DEEP + "]" * DEEP
    path = tmp_path / ("x.json" if where == "persona_json" else "x.toml")
    path.write_text('{"name": "X", "age": ' + nested + "}" if where == "persona_json" else "a = " + nested)
    argv = {
        "guide": ["run", str(path), "--backend", "scripted", "--headless"],
        "persona_toml": ["personas", "validate", str(path)],
        "persona_json": ["personas", "validate", str(path)],
        "config": ["run", "concept-test", "--backend", "scripted", "--headless"],
        "spec": ["personas", "profile", "--spec", str(path)],
    }[where]
    if where == "config":
        monkeypatch.setenv("TROUPE_CONFIG", str(path))
    got = main(argv)
    err = capsys.readouterr().err
    assert got == 2 and "Traceback" not in err and "nested too deeply" in err


@pytest.mark.parametrize("command", ["export", "resume", "branch", "report"])
@pytest.mark.parametrize("line", ["[1, 2]", '"text"', "42", "null", "[" * DEEP + "]" * DEEP])
def test_a_log_line_that_is_json_but_not_an_object_is_bad_input(
    clean_run: Path, tmp_path: Path, capsys, command: str, line: str
) -> None:
    run = copy_run(clean_run, tmp_path / "run")
    lines = (run / "events.jsonl").read_text().splitlines()
    lines[5] = line
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    argv = {
        "export": ["export", str(run), "--format", "md", "-o", str(run / "t.md")],
        "resume": ["resume", str(run), "--headless"],
        "branch": ["branch", str(run), "--at", "3"],
        "report": ["report", str(run)],
    }[command]
    err = one_line_exit(capsys, argv)
    assert "line 6" in err and "events.jsonl" in err


def test_a_blank_persona_name_fails_validate_not_run(tmp_path: Path, capsys) -> None:
    blank = tmp_path / "blank.toml"
    blank.write_text('name = "   "\nage = 30\n', encoding="utf-8")
    assert main(["personas", "validate", str(blank)]) == 2
    assert "blank.toml: name: " in capsys.readouterr().err
    err = one_line_exit(
        capsys, ["run", "concept-test", "--backend", "scripted", "--headless", "--personas", str(blank)]
    )
    assert "blank.toml: name" in err and "blank" in err
    multi = tmp_path / "multi.toml"
    multi.write_text('name = "Tom\\n## Heading"\n', encoding="utf-8")
    err = one_line_exit(
        capsys, ["run", "concept-test", "--backend", "scripted", "--headless", "--personas", str(multi)]
    )
    assert "one line" in err


def test_an_out_folder_below_a_file_is_bad_input(capsys) -> None:
    err = one_line_exit(capsys, ["run", "concept-test", "--backend", "scripted", "--headless", "--out", "/dev/null/x"])
    assert "/dev/null/x" in err and "not a folder" in err


# -- defect 6: one exit code for a bad run folder ------------------------------------------------


@pytest.mark.parametrize("damage", ["empty", "corrupt", "no_log", "garbage_first"])
@pytest.mark.parametrize("command", ["export", "resume", "branch", "report"])
def test_a_bad_run_folder_is_always_exit_2(clean_run: Path, tmp_path: Path, capsys, damage: str, command: str) -> None:
    run = copy_run(clean_run, tmp_path / "run")
    log = run / "events.jsonl"
    if damage == "empty":
        log.write_text("")
    elif damage == "corrupt":
        lines = log.read_text().splitlines()
        lines[3] = "{not json"
        log.write_text("\n".join(lines) + "\n")
    elif damage == "no_log":
        log.unlink()
    else:
        log.write_bytes(b"\xff\xfe garbage\n" + log.read_bytes())
    argv = {
        "export": ["export", str(run), "--format", "md", "-o", str(run / "t.md")],
        "resume": ["resume", str(run), "--headless"],
        "branch": ["branch", str(run), "--at", "3"],
        "report": ["report", str(run)],
    }[command]
    one_line_exit(capsys, argv)


# -- defect 7: too lenient ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "ok"),
    [("en", True), ("Spanish", True), ("pt-BR", True), ("es_MX", True), ("klingon", False), ("xx", False), ("", False)],
)
def test_the_guide_language_must_be_a_real_language(tmp_path: Path, capsys, language: str, ok: bool) -> None:
    guide = tmp_path / "g.toml"
    guide.write_text(f'title = "x"\nlanguage = "{language}"\n[[sections]]\ntitle = "a"\nprompt = "b"\n')
    from troupe.core.errors import BadInputError
    from troupe.sessions.guide import load_guide

    if ok:
        assert load_guide(str(guide)).language.split("-")[0] in ("en", "es", "pt")
    else:
        with pytest.raises(BadInputError, match=r"g\.toml: language: .*ISO 639-1"):
            load_guide(str(guide))


def test_a_csv_with_a_repeated_header_is_refused(clean_run: Path, tmp_path: Path, capsys) -> None:
    csv = tmp_path / "human.csv"
    csv.write_text("score,score\n3,4\n5,1\n4,4\n", encoding="utf-8")
    err = one_line_exit(capsys, ["validate", str(clean_run), "--human", str(csv), "--column", "score"])
    assert "human.csv" in err and "repeats" in err and "columns 1, 2" in err
    csv.write_text("Score,score\n3,4\n", encoding="utf-8")  # the same name in another case is as ambiguous
    one_line_exit(capsys, ["validate", str(clean_run), "--human", str(csv), "--column", "score"])


def test_names_differing_only_in_case_cannot_sit_together(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('name = "Maria Lopez"\nage = 42\n')
    b.write_text('name = "maria  lopez"\nage = 40\n')
    err = one_line_exit(
        capsys, ["run", "concept-test", "--backend", "scripted", "--headless", "--personas", f"{a},{b}", "--out", "x"]
    )
    assert "seated twice" in err and "case" in err
    assert not Path("x").exists()


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [("seq", '"3"', "seq"), ("text", "42", "text"), ("seq", "3.0", "seq"), ("seq", "true", "seq")],
)
def test_a_log_with_a_wrongly_typed_field_is_refused(
    clean_run: Path, tmp_path: Path, capsys, field: str, value: str, needle: str
) -> None:
    run = copy_run(clean_run, tmp_path / "run")
    lines = (run / "events.jsonl").read_text().splitlines()
    for where in (next(i for i, line in enumerate(lines) if '"type":"say"' in line), len(lines) - 1):
        data = json.loads(lines[where])
        if field == "text" and "text" not in data:
            data["type"], data["agent"], data["turn"] = "say", "Maria Lopez", 1
        data[field] = json.loads(value)
        damaged = list(lines)
        damaged[where] = json.dumps(data)  # the last line too: valid JSON is never a torn write
        (run / "events.jsonl").write_text("\n".join(damaged) + "\n")
        err = one_line_exit(capsys, ["export", str(run), "--format", "csv", "-o", str(run / f"{where}.csv")])
        assert f"line {where + 1}" in err and needle in err
