"""CSV export: one row per utterance / poll answer, read back with pandas and the csv module."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from tests.sessions.export_support import SCRIPT_STIMULUS, THOUGHT, TRICKY_SAY, write_run
from troupe.sessions.export import export_run
from troupe.sessions.export.csv_export import COLUMNS


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    return export_run(write_run(tmp_path / "run"), "csv")


def test_csv_module_reads_it_as_is(csv_path: Path) -> None:
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0].keys()) == COLUMNS
    tricky = next(r for r in rows if r["seq"] == "20")
    assert tricky["text"] == TRICKY_SAY  # commas, quotes, newline, "=" all intact
    assert tricky["speaker"] == "Kwame Mensah" and tricky["type"] == "say" and tricky["section"] == "Concept reactions"
    stimulus = next(r for r in rows if r["seq"] == "12")
    assert stimulus["text"] == SCRIPT_STIMULUS and stimulus["type"] == "stimulus"
    reply = next(r for r in rows if r["seq"] == "14")
    assert reply["addressee"] == "Maria Lopez"
    muted = next(r for r in rows if r["seq"] == "19")
    assert muted["muted"] == "true"


def test_pandas_reads_it_as_is(csv_path: Path) -> None:
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == COLUMNS
    answers = frame[frame["type"] == "poll_answer"]
    assert len(answers) == 12
    intent = answers[answers["poll_id"] == "purchase_intent"]
    assert intent["score"].tolist() == [4.0, 1.0, 4.0, 5.0]
    assert intent["score"].mean() == pytest.approx(3.5)
    assert intent["rationale"].iloc[0] == "If the taste is right."
    says = frame[frame["type"] == "say"]
    assert TRICKY_SAY in says["text"].tolist()
    assert frame["seq"].is_monotonic_increasing


def test_thoughts_only_with_include_thoughts(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    plain = pd.read_csv(export_run(run, "csv"))
    assert "think" not in set(plain["type"])
    full = pd.read_csv(export_run(run, "csv", out=run / "all.csv", include_thoughts=True))
    assert full[full["type"] == "think"]["text"].tolist() == [THOUGHT]


def test_utf8_without_bom_by_default_and_with_bom_on_request(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    plain = export_run(run, "csv").read_bytes()
    assert plain.startswith(b"seq,ts,") and "€2.49".encode() in plain
    with_bom = export_run(run, "csv", out=run / "excel.csv", bom=True)
    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbfseq,")
    assert list(pd.read_csv(with_bom).columns) == COLUMNS  # pandas strips the BOM itself


def test_formula_like_text_is_defused(csv_path: Path) -> None:
    # "Lunch budget, = €2." is safe (does not start with "="), so it is verbatim.
    rows = list(csv.DictReader(open(csv_path, newline="", encoding="utf-8")))
    assert any(r["rationale"] == "Lunch budget, = €2." for r in rows)
    from troupe.sessions.export.csv_export import safe_cell

    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("-1.5") == "-1.5" and safe_cell(3) == 3
