"""Voice similarity by embeddings (core/dynamics.py arithmetic, sessions/voice_embeddings.py calls),
on crafted vectors and crafted logs with known answers; `troupe dynamics`/`troupe report --embeddings`
through the scripted backend and the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAIServer
from troupe.core import dynamics
from troupe.core.events import Event, parse_event
from troupe.core.llm.scripted import ScriptedBackend, hashed_embedding
from troupe.core.log import write_events
from troupe.sessions.cli import main
from troupe.sessions.dynamics_render import dynamics_html, dynamics_markdown
from troupe.sessions.voice_embeddings import embed_voices

PEOPLE = ["Ana Ruiz", "Ben Okafor", "Cleo Lind"]
SAME = ["The price is far too high for me.", "Cold soup in a bottle sounds odd.", "I would try it once."]
ANA = ["Prices keep climbing every month.", "Supermarket budgets matter enormously.", "Discounts persuade shoppers."]
BEN = ["Gazpacho reminds grandmother's kitchen.", "Tomatoes, peppers, cucumbers, garlic.", "Andalusian summers."]
CLEO = ["Treadmill workouts leave thirsty.", "Protein shakes after yoga.", "Marathon training schedule."]


def log(*says: tuple[str, str], backend: str = "scripted", **extra: object) -> list[Event]:
    items: list[tuple[str, dict]] = [("session_started", dict(title="t", personas=PEOPLE, backend=backend))]
    items += [("say", dict(agent=a, text=t, turn=1, reply_to=None, **extra)) for a, t in says]
    return [parse_event({"seq": i, "ts": "2026-01-01T00:00:00Z", "type": k, **f}) for i, (k, f) in enumerate(items, 1)]


def chorus() -> list[Event]:
    """Every persona says the same three lines."""
    return log(*[(p, line) for line in SAME for p in PEOPLE])


def distinct() -> list[Event]:
    """Each persona talks about its own things, in its own words."""
    return log(*[(p, line) for p, lines in zip(PEOPLE, (ANA, BEN, CLEO)) for line in lines])


def write_run(tmp_path: Path, events: list[Event]) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    write_events(run / "events.jsonl", events)
    return run


# -- the arithmetic, on crafted vectors ------------------------------------------------------


def test_voice_vector_is_the_mean_of_unit_vectors_and_skips_zero_vectors() -> None:
    assert dynamics.voice_vector([[3.0, 0.0], [0.0, 0.5], [0.0, 0.0]]) == [0.5, 0.5]
    assert dynamics.voice_vector([[0.0, 0.0]]) is None and dynamics.voice_vector([]) is None
    assert dynamics.cosine([1.0, 0.0], [1.0, 1.0]) == pytest.approx(1 / math.sqrt(2))
    assert dynamics.cosine([0.0, 0.0], [1.0, 0.0]) is None


def test_embedding_similarity_on_crafted_vectors_with_known_answers() -> None:
    x, y, z = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    sim = dynamics.embedding_similarity(
        {
            "A": [x, x, [2.0, 0.0, 0.0]],  # voice (1, 0, 0)
            "B": [y, y, y],  # voice (0, 1, 0)
            "C": [x, y, [0.0, 0.0, 0.0], x, y],  # voice (.5, .5, 0); the zero vector is not a remark
            "D": [z, z],  # two remarks: too few to compare
        }
    )
    assert sim.remarks == {"A": 3, "B": 3, "C": 4, "D": 2}
    assert sim.compared == ["A", "B", "C"]
    assert sim.pairs == {
        "A | B": pytest.approx(0.0),
        "A | C": pytest.approx(1 / math.sqrt(2)),
        "B | C": pytest.approx(1 / math.sqrt(2)),
    }
    assert sim.mean_similarity == pytest.approx(2 / (3 * math.sqrt(2)))
    assert sim.most_alike == ["A", "C"] and sim.most_alike_similarity == pytest.approx(1 / math.sqrt(2))
    assert not sim.collapsed and sim.warning is None


def test_the_one_voice_warning_fires_at_the_threshold() -> None:
    # Two voices at an angle whose cosine is just over the threshold, then just under it.
    t = dynamics.EMBED_COLLAPSE_COSINE
    over = [t + 0.001, math.sqrt(1 - (t + 0.001) ** 2)]
    sim = dynamics.embedding_similarity({"A": [[1.0, 0.0]] * 3, "B": [over] * 3})
    assert sim.mean_similarity == pytest.approx(t + 0.001) and sim.collapsed
    assert sim.warning is not None and "one voice" in sim.warning and f"warning at {t:.2f}" in sim.warning
    under = [t - 0.001, math.sqrt(1 - (t - 0.001) ** 2)]
    sim = dynamics.embedding_similarity({"A": [[1.0, 0.0]] * 3, "B": [under] * 3})
    assert not sim.collapsed and sim.warning is None
    empty = dynamics.embedding_similarity({})
    assert empty.mean_similarity is None and empty.most_alike is None and not empty.collapsed


def test_voice_texts_are_every_say_muted_included_blank_left_out() -> None:
    events = log(("Ana Ruiz", "one"), ("Ben Okafor", "  "), ("Ana Ruiz", "two"))
    events += log(("Ben Okafor", "hushed"), muted=True)[1:]
    assert dynamics.voice_texts(events) == {"Ana Ruiz": ["one", "two"], "Ben Okafor": ["hushed"], "Cleo Lind": []}


# -- the calls, through the scripted backend ---------------------------------------------------


async def test_personas_saying_the_same_lines_read_as_one_voice() -> None:
    backend = ScriptedBackend()
    readout = await embed_voices(chorus(), backend)
    assert backend.embedded == [SAME]  # each distinct remark embedded once, in one call
    sim = readout.similarity
    assert readout.status == "computed" and sim is not None
    assert sim.compared == PEOPLE and sim.remarks == dict.fromkeys(PEOPLE, 3)
    assert all(v == pytest.approx(1.0) for v in sim.pairs.values()) and sim.collapsed
    assert readout.texts == 3 and readout.calls == 1 and readout.prompt_tokens > 0
    assert readout.model == "scripted-embedding-1" and "3 distinct remarks embedded with scripted-embedding-1" in (
        readout.note
    )
    d = dynamics.compute(chorus())
    d.embeddings = readout
    assert len(d.warnings) == 1 and "remarks embed alike" in d.warnings[0]  # (too few words for n-grams)
    md = "\n".join(dynamics_markdown(d))
    assert "Voice similarity by embeddings: mean cosine between the personas' voices 1.00 (warning at 0.90)" in md
    assert "- **Warning:** the panel speaks with one voice: the personas' remarks embed alike" in md


async def test_personas_with_their_own_words_do_not() -> None:
    readout = await embed_voices(distinct(), ScriptedBackend())
    sim = readout.similarity
    assert sim is not None and sim.compared == PEOPLE
    # hashed bags of words: the figures are the cosines of the mean vectors, computed here by hand
    voices = {
        p: dynamics.voice_vector([hashed_embedding(t) for t in lines]) for p, lines in zip(PEOPLE, (ANA, BEN, CLEO))
    }
    for pair, value in sim.pairs.items():
        a, b = pair.split(" | ")
        assert value == pytest.approx(dynamics.cosine(voices[a], voices[b]), abs=1e-5)  # type: ignore[arg-type]
    assert sim.mean_similarity is not None and sim.mean_similarity < 0.3
    assert not sim.collapsed and sim.warning is None


async def test_no_backend_or_one_that_cannot_embed_is_said_plainly() -> None:
    readout = await embed_voices(chorus(), None, unavailable="the run's backend 'openai' is not usable here (no key)")
    assert readout.status == "unavailable" and readout.similarity is None and "no key" in readout.note

    class ChatOnly:
        name = "chatonly"

    readout = await embed_voices(chorus(), ChatOnly())
    assert readout.status == "unavailable" and "the chatonly backend cannot embed texts" in readout.note
    d = dynamics.compute(chorus())
    d.embeddings = readout
    assert "Voice similarity by embeddings: not computed: the chatonly backend cannot embed texts" in dynamics_html(d)


# -- troupe dynamics / troupe report -----------------------------------------------------------


def test_troupe_dynamics_makes_no_call_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path, chorus())
    assert main(["dynamics", str(run), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["embeddings"]["status"] == "not_requested" and data["embeddings"]["similarity"] is None
    assert data["warnings"] == []
    assert main(["dynamics", str(run)]) == 0
    assert "Voice similarity by embeddings: not computed (it takes embedding calls; ask with --embeddings)" in (
        capsys.readouterr().out
    )
    assert main(["dynamics", str(run), "--backend", "scripted"]) == 2  # a backend for nothing
    assert "apply with --embeddings only" in capsys.readouterr().err


def test_troupe_dynamics_embeddings_through_an_openai_compatible_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path, log(*[(p, line) for line in SAME for p in PEOPLE], backend="openai"))
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("TROUPE_EMBEDDING_MODEL", "embedder-9")
        assert main(["dynamics", str(run), "--format", "json", "--embeddings"]) == 0
        [request] = server.embedding_requests
    out = capsys.readouterr()
    data = json.loads(out.out)["embeddings"]
    assert request.body["model"] == "embedder-9" and request.body["input"] == SAME
    assert data["status"] == "computed" and data["model"] == "embedder-9" and data["texts"] == 3
    assert data["calls"] == 1 and data["prompt_tokens"] > 0
    sim = data["similarity"]
    assert sim["compared"] == PEOPLE and sim["mean_similarity"] == pytest.approx(1.0) and sim["collapsed"]
    assert sim["most_alike"] == ["Ana Ruiz", "Ben Okafor"]
    assert sim["pairs"]["Ben Okafor | Cleo Lind"] == pytest.approx(1.0)
    assert "embeddings: 3 distinct remarks embedded with embedder-9" in out.err


def test_a_server_without_embeddings_is_reported_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path, distinct())
    with FakeOpenAIServer(embeddings_endpoint=False) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert main(["dynamics", str(run), "--embeddings", "--backend", "openai"]) == 0
    out = capsys.readouterr().out
    assert "# Group dynamics" in out
    assert "Voice similarity by embeddings: not computed: embedding the remarks failed (" in out


def test_a_run_whose_backend_is_not_usable_here_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path, log(*[(p, line) for line in SAME for p in PEOPLE], backend="openai"))
    assert main(["dynamics", str(run), "--format", "json", "--embeddings"]) == 0  # no key, no base URL here
    data = json.loads(capsys.readouterr().out)["embeddings"]
    assert data["status"] == "unavailable" and "the run's backend 'openai' is not usable here" in data["note"]


def test_recorded_embeddings_replay_with_the_same_figures_and_no_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_run(tmp_path, distinct())
    monkeypatch.setenv("TROUPE_CACHE_PATH", str(tmp_path / "cache.sqlite"))
    figures = []
    for mode in ("record", "replay"):
        monkeypatch.setenv("TROUPE_CACHE", mode)
        assert main(["dynamics", str(run), "--format", "json", "--embeddings"]) == 0
        figures.append(json.loads(capsys.readouterr().out)["embeddings"])
    recorded, replayed = figures
    assert recorded["cached_calls"] == 0 and recorded["prompt_tokens"] > 0
    assert replayed["cached_calls"] == 1 and replayed["prompt_tokens"] == 0 and replayed["cost_usd"] == 0
    assert replayed["similarity"] == recorded["similarity"]


def test_troupe_report_embeddings_adds_the_readout_and_its_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path, chorus())
    assert main(["report", str(run), "--themes", "lexical", "--embeddings"]) == 0
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "Voice similarity by embeddings: mean cosine between the personas' voices 1.00" in md
    assert "**Warning:** the panel speaks with one voice: the personas' remarks embed alike" in md
    assert "embeddings: 3 distinct remarks embedded" in capsys.readouterr().err
    assert main(["report", str(run), "--themes", "lexical", "--format", "html"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "Voice similarity by embeddings: not computed (it takes embedding calls; ask with --embeddings)" in page
    assert "remarks embed alike" not in page
