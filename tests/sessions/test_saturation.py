"""Theme saturation across a study's groups (sessions/saturation.py) on crafted logs."""

from __future__ import annotations

import json
from pathlib import Path

from troupe.core.events import Event, parse_event
from troupe.sessions.cli import main
from troupe.sessions.saturation import chart_lines, group_themes, saturation, saturation_markdown


def group(*lines: tuple[str, str]) -> list[Event]:
    items = [
        ("session_started", dict(title="t", personas=["Ana", "Ben"], backend="scripted")),
        ("section_started", dict(index=0, title="Talk")),
        *[("say", dict(agent=a, text=t, turn=1)) for a, t in lines],
    ]
    return [parse_event({"seq": i, "ts": "2026-01-01T00:00:00Z", "type": k, **f}) for i, (k, f) in enumerate(items, 1)]


PRICE = (("Ana", "The price is too high."), ("Ben", "That price puts me off."))
BOTTLE = (("Ana", "A glass bottle looks nice."), ("Ben", "The bottle feels cheap."))
FRIDGE = (("Ana", "My fridge is always full."), ("Ben", "No fridge space left at home."))


def test_new_themes_per_group_and_saturation() -> None:
    assert group_themes(group(*PRICE)) == ["price"]
    assert group_themes(group(*PRICE, *BOTTLE)) == ["bottle", "price"]
    sat = saturation(
        [
            ("g1", group(*PRICE)),
            ("g2", group(*PRICE, *BOTTLE)),
            ("g3", group(*BOTTLE, *FRIDGE)),
            ("g4", group(*FRIDGE, *PRICE)),
        ]
    )
    assert sat.new_counts == [1, 1, 1, 0]
    assert sat.cumulative == [1, 2, 3, 3]
    assert sat.new == [["price"], ["bottle"], ["fridge"], []]
    assert sat.saturated_at == 4
    chart = chart_lines(sat, width=30)
    assert chart[0].split()[1] == "█" * 10 and chart[3].split()[1] == "░" * 30 and chart[3].endswith("+0 new, 3 in all")
    md = "\n".join(saturation_markdown(sat))
    assert "Saturation: group 4 added no new theme." in md and "scripted backend" in md
    assert sat.to_json()["new_per_group"] == [1, 1, 1, 0]


def test_a_scripted_three_group_study_reports_a_saturation_curve(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    assert main(["study", "concept-test", "--groups", "3", "--backend", "scripted", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "theme saturation (new themes per additional group):" in err
    md = (out / "study.md").read_text()
    assert "## Theme saturation" in md and "## Polls" in md
    data = json.loads((out / "study.json").read_text())["saturation"]
    assert [g["name"] for g in data["groups"]] == ["group-01", "group-02", "group-03"]
    cumulative = [g["cumulative"] for g in data["groups"]]
    assert cumulative == sorted(cumulative) and cumulative[0] == len(data["groups"][0]["themes"]) > 0
    assert sum(data["new_per_group"]) == cumulative[-1]
