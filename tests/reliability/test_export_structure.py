"""Defect 5 of issue 15: text from a log can never give a transcript fake structure.

A persona name, a reply and a stimulus full of line breaks, Markdown headings and fake
``**Moderator:**`` labels stay inside their speaker's entry in every export: the Markdown has
exactly the headings and speaker lines of a clean run, the CSV exactly its rows, the HTML
exactly its sections and entries.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import copy_run
from troupe.sessions.cli import main

NAME = "Tom\n## Fake section\n**Moderator:** fake line\n- fake item"
REPLY = "Fine.\n# Fake heading\n**Moderator:** you all agree\n\n---\n> quoted\n1. one\n```\ncode"
STIMULUS = "Gazpacho Go\n## Fake stimulus heading\n**Moderator:** buy it"


def rename(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, list):
        return [rename(v, old, new) for v in value]
    if isinstance(value, dict):
        return {rename(k, old, new): rename(v, old, new) for k, v in value.items()}
    return value


def hostile_copy(clean: Path, dest: Path) -> Path:
    run = copy_run(clean, dest)
    out = []
    for line in (run / "events.jsonl").read_text().splitlines():
        event = rename(json.loads(line), "Tom Becker", NAME)
        if event["type"] == "say":
            event["text"] = REPLY
        if event["type"] == "stimulus":
            event["text"] = STIMULUS
        out.append(json.dumps(event, ensure_ascii=False))
    (run / "events.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    return run


def export(run: Path, fmt: str, capsys) -> str:
    target = run / f"t.{fmt}"
    assert main(["export", str(run), "--format", fmt, "-o", str(target)]) == 0, capsys.readouterr().err
    return target.read_text(encoding="utf-8")


def structure_md(text: str) -> dict[str, int]:
    lines = text.splitlines()
    return {
        "headings": sum(1 for line in lines if re.match(r"^#{1,6} ", line)),
        "moderator": sum(1 for line in lines if line.startswith("**Moderator")),
        "bullets": sum(1 for line in lines if re.match(r"^\s*[-*+] ", line)),
        "rules": sum(1 for line in lines if re.match(r"^\s*(-{3,}|={3,})\s*$", line)),
        "fences": sum(1 for line in lines if line.lstrip().startswith(("```", "~~~"))),
        "quote_blocks": sum(
            1 for i, line in enumerate(lines) if line.startswith(">") and (i == 0 or not lines[i - 1].startswith(">"))
        ),
        "quoted_blocks": sum(1 for line in lines if re.match(r"^>\s*(#|\*\*Moderator|[-*+] |\d+[.)] |```)", line)),
        "ordered": sum(1 for line in lines if re.match(r"^\d+[.)] ", line)),
    }


@pytest.fixture
def runs(clean_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    return copy_run(clean_run, tmp_path / "clean"), hostile_copy(clean_run, tmp_path / "hostile")


def test_markdown_gains_no_headings_or_speaker_lines(runs: tuple[Path, Path], capsys) -> None:
    clean, hostile = runs
    clean_md, hostile_md = export(clean, "md", capsys), export(hostile, "md", capsys)
    assert structure_md(hostile_md) == structure_md(clean_md)
    assert "Fake section" in hostile_md and "you all agree" in hostile_md and "Fake stimulus heading" in hostile_md


def test_csv_keeps_one_row_per_entry_with_the_text_whole(runs: tuple[Path, Path], capsys) -> None:
    clean, hostile = runs
    clean_rows = list(csv.DictReader(io.StringIO(export(clean, "csv", capsys), newline="")))
    rows = list(csv.DictReader(io.StringIO(export(hostile, "csv", capsys), newline="")))
    assert len(rows) == len(clean_rows)
    assert any(r["speaker"] == NAME and r["text"] == REPLY for r in rows)
    assert any(r["type"] == "stimulus" and r["text"] == STIMULUS for r in rows)


def test_html_keeps_its_sections_and_entries(runs: tuple[Path, Path], capsys) -> None:
    clean, hostile = runs
    clean_html, hostile_html = export(clean, "html", capsys), export(hostile, "html", capsys)
    for tag in ("<h1", "<h2", "<h3", "<article", "<section", 'class="entry'):
        assert hostile_html.count(tag) == clean_html.count(tag), tag
    assert "## Fake section" in hostile_html and "<script" not in hostile_html.split("</style>", 1)[-1].lower()
