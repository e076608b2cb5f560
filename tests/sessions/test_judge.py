"""`troupe report --judge`: one structured call per persona per section, quotes verified, costed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.cli import main
from troupe.sessions.commands.export import write_judge
from troupe.sessions.export import load_transcript
from troupe.sessions.judge import judge_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("judge")
    out = root / "run"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TROUPE_BACKEND", "TROUPE_MODEL", "TROUPE_CONFIG"):
            mp.delenv(name, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        assert main(["run", "ab-test", "--backend", "scripted", "--headless", "--rounds", "1", "--out", str(out)]) == 0
    yield out


def says(run: Path) -> list[dict[str, Any]]:
    events = [json.loads(x) for x in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    section = -1
    out = []
    for e in events:
        if e["type"] == "section_started":
            section = e["index"]
        elif e["type"] == "say":
            out.append({**e, "section": section})
    return out


def test_one_call_per_persona_per_section_with_verified_quotes(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run), "--judge", "--backend", "scripted"]) == 0
    assert "judge: " in capsys.readouterr().err
    data = json.loads((run / "judge.json").read_text(encoding="utf-8"))
    utterances = says(run)
    pairs = {(u["agent"], u["section"]) for u in utterances}
    assert len(data["scores"]) == len(pairs) == data["calls"]
    assert {(s["persona"], s["section"]) for s in data["scores"]} == pairs
    by_seq = {u["seq"]: u for u in utterances}
    for s in data["scores"]:
        assert 0 <= s["adherence"] <= 9 and 0 <= s["self_consistency"] <= 9
        assert s["quotes_proposed"] == len(s["quotes"]) + s["quotes_dropped"]
        for q in s["quotes"]:  # every kept quote is verbatim, and said by that persona
            assert q["text"] in by_seq[q["seq"]]["text"] and by_seq[q["seq"]]["agent"] == s["persona"]
    assert data["prompt_tokens"] > 0
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "## Persona checks (LLM judge)" in report and "Cost: " in report
    # A second judge does not overwrite without --force, before any call.
    capsys.readouterr()
    assert main(["report", str(run), "--judge", "--backend", "scripted", "--force"]) == 0
    (run / "report.md").unlink()
    assert main(["report", str(run), "--judge", "--backend", "scripted"]) == 2
    assert "judge.md: already exists" in capsys.readouterr().err


async def test_fabricated_quotes_are_dropped_and_real_ones_kept(run: Path) -> None:
    transcript = load_transcript(run)
    first = says(run)[0]
    real = " ".join(first["text"].split()[:4])

    def judge(request: Any) -> dict[str, Any]:
        return {
            "adherence": 7,
            "adherence_justification": "Fits the card.",
            "self_consistency": 3,
            "consistency_justification": "Contradicts an earlier answer.",
            "quotes": [
                {"seq": first["seq"], "excerpt": real},
                {"seq": first["seq"], "excerpt": "words never said here"},
            ],
        }

    result = await judge_run(transcript, ScriptedBackend(script=[judge] * 100))
    mine = next(s for s in result.scores if s.persona == first["agent"] and s.section_index == first["section"])
    assert [q.text for q in mine.quotes] == [real] and mine.dropped_quotes == 1
    assert mine.adherence == 7 and mine.self_consistency == 3
    md = result.render_markdown()
    assert "Low scores (below 5)" in md and f"> [{first['seq']}] {real}" in md
    assert result.per_persona()[first["agent"]] == (7.0, 3.0)


async def test_write_judge_uses_an_injected_backend(run: Path, tmp_path: Path) -> None:
    path = await write_judge(run, backend=ScriptedBackend(seed=4))
    assert path == run / "judge.md" and path.read_text(encoding="utf-8").startswith("# Persona checks")
