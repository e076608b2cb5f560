"""The findings report: verified verbatim quotes, LLM themes with a lexical fallback, poll
statistics from the log, agreement/split, persona profiles, and the `troupe report` command."""

from __future__ import annotations

import html
import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.sessions.export_support import GENERATED_AT, MUTED_SAY, THOUGHT, write_run
from troupe.core.errors import BackendError
from troupe.core.llm.protocol import ChatRequest
from troupe.core.llm.scripted import ScriptedBackend, scripted_from
from troupe.core.log import read_events
from troupe.sessions.cli import main
from troupe.sessions.commands.export import write_report
from troupe.sessions.export import load_transcript
from troupe.sessions.quotes import verify_quote
from troupe.sessions.report import Report, build_report, report_backend
from troupe.sessions.report_render import render_report_markdown
from troupe.sessions.themes import lexical_themes
from troupe.sessions.transcript import Entry


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run")


def logged_texts(run_dir: Path) -> dict[int, tuple[str, str]]:
    """seq → (agent, text) of every say event in the log."""
    return {e.seq: (e.agent, e.text) for e in read_events(run_dir / "events.jsonl") if e.type == "say"}  # type: ignore[attr-defined]


def assert_all_quotes_verbatim(report: Report, run_dir: Path) -> None:
    said = logged_texts(run_dir)
    assert report.all_quotes
    for quote in report.all_quotes:
        agent, text = said[quote.seq]
        assert quote.agent == agent and quote.text in text, quote


def themes_reply(request: ChatRequest) -> dict:
    """A model that quotes well, misquotes, mislinks and invents — per section."""
    prompt = request.messages[-1].content
    if '"Concept reactions"' in prompt:
        return {
            "themes": [
                {
                    "label": "Price is the hurdle",
                    "summary": "Most worry about €2.49.",
                    "refs": [
                        {"seq": 13, "excerpt": "the price worries me a little"},
                        {"seq": 14, "excerpt": "€2.49 is a steep price"},
                        {"seq": 17, "excerpt": "“The  price is fine for a lunch”"},  # typographic quotes, double space
                        {"seq": 99, "excerpt": "no such utterance"},
                    ],
                },
                {
                    "label": "Saltiness",
                    "summary": "Salt is a worry.",
                    "refs": [
                        {"seq": 16, "excerpt": "if it isn't too salty"},
                        {"seq": 17, "excerpt": "A salty soup would put me off too"},  # right words, wrong seq (22)
                    ],
                },
                {
                    "label": "Invented enthusiasm",
                    "summary": "Everyone loves it.",
                    "refs": [
                        {"seq": 13, "excerpt": "I love it so much"},
                        {"seq": 14, "excerpt": "best soup I ever had"},
                    ],
                },
            ]
        }
    if '"Purchase intent"' in prompt:
        return {
            "themes": [
                {
                    "label": "Taste first",
                    "summary": "Taste decides.",
                    "refs": [
                        {"seq": 39, "excerpt": "if it is good, I would pay"},
                        {"seq": 40, "excerpt": "paraphrased, not said"},
                    ],
                }
            ]
        }
    return {"themes": []}


async def test_llm_themes_keep_only_verified_quotes(run_dir: Path) -> None:
    transcript = load_transcript(run_dir)
    report = await build_report(transcript, backend=scripted_from(themes_reply), generated_at=GENERATED_AT)
    concept = next(s for s in report.sections if s.title == "Concept reactions")
    assert concept.method == "llm"
    assert [t.label for t in concept.themes] == ["Price is the hurdle", "Saltiness"]  # invented one dropped
    price, salt = concept.themes
    assert [(q.seq, q.text) for q in price.quotes] == [
        (13, "the price worries me a little"),
        (14, "€2.49 is a steep price"),
        (17, "The price is fine for a lunch"),
    ]
    assert price.quotes[2].repaired and not price.quotes[0].repaired
    assert [(q.seq, q.agent) for q in salt.quotes] == [(16, "Aiko Sato"), (22, "Maria Lopez")]  # relinked
    assert report.quote_stats.proposed == 10
    assert report.quote_stats.dropped == 4
    assert report.quote_stats.repaired == 2
    # A section whose proposal kept fewer than two quotes falls back to lexical clustering.
    intent = next(s for s in report.sections if s.title == "Purchase intent")
    assert (
        intent.method == "lexical"
        and intent.themes
        and "no theme with two verifiable quotes" in (intent.method_note or "")
    )
    assert "where it gave verifiable quotes, otherwise by lexical clustering" in report.themes_source
    assert_all_quotes_verbatim(report, run_dir)


async def test_scripted_model_output_falls_back_to_lexical_themes(run_dir: Path) -> None:
    # The generated scripted reply is schema-valid but cites nothing real.
    report = await build_report(load_transcript(run_dir), backend=ScriptedBackend(seed=3))
    methods = {s.title: s.method for s in report.sections}
    assert methods["Concept reactions"] == "lexical"
    assert "gave no theme with two verifiable quotes" in report.themes_source
    concept = next(s for s in report.sections if s.title == "Concept reactions")
    labels = [t.label for t in concept.themes]
    assert labels[0] == "Price" and "Salty" in labels
    for theme in concept.themes:
        assert len(theme.quotes) >= 2
    assert_all_quotes_verbatim(report, run_dir)


async def test_a_failing_backend_is_reported_and_lexical_used(run_dir: Path) -> None:
    backend = ScriptedBackend(script=[BackendError("server said 503")] * 6)
    report = await build_report(load_transcript(run_dir), backend=backend)
    concept = next(s for s in report.sections if s.title == "Concept reactions")
    assert concept.method == "lexical" and "the model call failed (server said 503)" in (concept.method_note or "")


async def test_lexical_mode_makes_no_model_call(run_dir: Path) -> None:
    backend = ScriptedBackend()
    report = await build_report(load_transcript(run_dir), backend=backend, mode="lexical")
    assert backend.calls == 0
    assert report.themes_source.startswith("Themes by lexical clustering") and "as requested" in report.themes_source


def test_lexical_themes_need_two_speakers_and_fresh_quotes() -> None:
    says = [
        Entry(1, "t", "say", "A", "The bottle is pretty. Glass bottles feel premium."),
        Entry(2, "t", "say", "A", "Another bottle remark from the same person."),
        Entry(3, "t", "say", "B", "Price matters most to me."),
        Entry(4, "t", "say", "C", "The price should be lower. A bottle is a bottle."),
    ]
    themes = lexical_themes(says)
    by_label = {t.label.split(" · ")[0]: t for t in themes}
    assert set(by_label) == {"Bottle", "Price"}
    assert sorted(by_label["Price"].speakers) == ["B", "C"]
    for theme in themes:
        for quote in theme.quotes:
            assert quote.text in says[quote.seq - 1].text
    assert lexical_themes(says[:1]) == []


def test_verify_quote_repairs_or_drops() -> None:
    entry = Entry(7, "t", "say", "A", "I’d pay €2.49 — maybe.\nNot more.")
    by_seq = {7: entry}
    assert verify_quote(by_seq, 7, "I’d pay €2.49").text == "I’d pay €2.49"  # type: ignore[union-attr]
    repaired = verify_quote(by_seq, 7, '"i\'d PAY €2.49 - maybe. Not more"')
    assert repaired is not None and repaired.text == "I’d pay €2.49 — maybe.\nNot more" and repaired.repaired
    assert verify_quote(by_seq, 7, "I'd pay three euros") is None
    assert verify_quote(by_seq, 7, "pay") is None  # too short to be a quote


async def test_poll_statistics_come_from_the_log(run_dir: Path) -> None:
    report = await build_report(load_transcript(run_dir), mode="lexical")
    intent = next(p for p in report.polls if p.poll_id == "purchase_intent")
    assert intent.counts == {"Strongly disagree": 1, "Disagree": 0, "Neutral": 0, "Agree": 2, "Strongly agree": 1}
    assert intent.mean == pytest.approx(statistics.fmean([4, 1, 4, 5]))
    assert intent.stdev == pytest.approx(statistics.stdev([4, 1, 4, 5]))
    price = next(p for p in report.polls if p.poll_id == "fair_price")
    assert price.mean == pytest.approx(2.25) and price.stdev == pytest.approx(statistics.stdev([2.5, 1.5, 3, 2]))
    concept = next(p for p in report.polls if p.poll_id == "preferred_concept")
    assert concept.counts == {"Concept A": 1, "Concept B": 2, "Neither": 1}  # "concept a" matched


async def test_agreement_and_split(run_dir: Path) -> None:
    report = await build_report(load_transcript(run_dir), mode="lexical")
    verdicts = {(f.basis, f.topic): f.verdict for f in report.findings}
    assert verdicts[("poll", "I would buy Gazpacho Go at €2.49 in the next month.")] == "split"
    assert verdicts[("poll", "What is the most you would pay, in euros?")] == "agreed"
    assert verdicts[("poll", "Which concept appeals to you more?")] == "split"
    # Lexical themes are topics: shared words never make a finding about agreement.
    assert not [f for f in report.findings if f.basis == "theme"]


async def test_profiles(run_dir: Path) -> None:
    report = await build_report(load_transcript(run_dir), mode="lexical")
    profiles = {p.name: p for p in report.profiles}
    said = logged_texts(run_dir)
    aiko_chars = sum(len(t) for a, t in said.values() if a == "Aiko Sato")
    assert profiles["Aiko Sato"].chars == aiko_chars and profiles["Aiko Sato"].muted_turns == 1
    assert profiles["Kwame Mensah"].passes == 1
    assert profiles["Tom Becker"].thoughts == 1
    assert sum(p.share for p in profiles.values()) == pytest.approx(1.0)
    assert profiles["Tom Becker"].stance.startswith("More negative")
    assert profiles["Kwame Mensah"].stance.startswith("More positive")
    assert all(1 <= len(p.quotes) <= 2 for p in profiles.values())
    assert MUTED_SAY not in {q.text for p in profiles.values() for q in p.quotes}


async def test_markdown_report_quotes_are_verbatim_and_thoughts_absent(run_dir: Path) -> None:
    report = await build_report(
        load_transcript(run_dir), backend=scripted_from(themes_reply), generated_at=GENERATED_AT
    )
    text = render_report_markdown(report)
    assert "All participants in this session are simulated" in text and "scripted / scripted-1" in text
    assert THOUGHT not in text
    said = logged_texts(run_dir)
    cited = re.findall(r"“(.+?)” — \*\*(.+?)\*\* \(#(\d+)\)", text)
    assert len(cited) >= 6
    for quote, agent, seq in cited:
        unescaped = html.unescape(quote.replace("\\[", "[").replace("\\]", "]"))
        assert said[int(seq)][0] == agent and unescaped in said[int(seq)][1]
    assert "| Agree | 2 | 50% |" in text and "**Mean** 3.50 · **Median** 4 · **SD** 1.73" in text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k == "href"]


def test_report_command_html_links_quotes_into_the_transcript(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(run_dir), "--format", "html"]) == 0
    assert main(["report", str(run_dir), "--format", "html"]) == 0  # the run's own backend: scripted
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and parsed.tags.count("svg") == 3
    assert any(link.startswith("transcript.html#e") for link in parsed.links)
    assert "Simulated participants." in page
    capsys.readouterr()
    assert main(["report", str(run_dir), "--format", "html"]) == 2
    assert "already exists; use --force" in capsys.readouterr().err


def test_report_command_markdown_default_and_lexical(run_dir: Path) -> None:
    assert main(["report", str(run_dir), "--themes", "lexical"]) == 0
    text = (run_dir / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# Findings — Gazpacho Go")
    assert "## Where the group agreed and where it split" in text and "## Participants" in text


def test_report_unknown_backend_is_bad_input(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_dir), "--backend", "nonesuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nonesuch" in err and "\n" not in err


def test_unusable_recorded_backend_falls_back_with_a_note(run_dir: Path) -> None:
    info = load_transcript(run_dir).info
    info.backend, info.model = "openai", "gpt-4.1-mini"  # no key in the test environment
    backend, _, note = report_backend(info, None, None)
    assert backend is None and note and "openai" in note


async def test_write_report_with_injected_backend(run_dir: Path) -> None:
    path = await write_report(run_dir, "md", backend=scripted_from(themes_reply), generated_at=GENERATED_AT)
    assert path == run_dir.resolve() / "report.md"
    assert "### Price is the hurdle" in path.read_text(encoding="utf-8")


async def test_html_report_escapes_what_the_model_wrote(run_dir: Path) -> None:
    from troupe.sessions.report_render import render_report_html

    def hostile(request: ChatRequest) -> dict:
        return {
            "themes": [
                {
                    "label": "<script>alert(1)</script>",
                    "summary": "<img src=x onerror=alert(2)>",
                    "refs": [
                        {"seq": 13, "excerpt": "the price worries me a little"},
                        {"seq": 14, "excerpt": "€2.49 is a steep price"},
                    ],
                }
            ]
        }

    report = await build_report(load_transcript(run_dir), backend=scripted_from(hostile))
    page = render_report_html(report)
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
