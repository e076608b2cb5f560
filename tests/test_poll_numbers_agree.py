"""Every view of a poll shows the same numbers: the TUI's results dialog, the four exports
(md, json, csv, html) and the findings report, all read from one log.

Each view is read back as *text* (what a person or a script sees), reduced to the chart rows
``(label, count, share)`` and the statistics line, and compared. The log holds the cases where
copies used to disagree: a Likert poll with a re-vote, a multi-choice poll with more mentions
than respondents, an integer number poll, a poll with one answer, a poll whose answers all
failed, and a number poll with decimals.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import statistics
from pathlib import Path

import pytest

from tests.sessions.export_support import CARDS, GENERATED_AT
from tests.tui.tui_fixtures import plain
from troupe.core.clock import FixedClock
from troupe.core.log import EventLog
from troupe.core.poll_stats import collect_polls, format_share
from troupe.sessions.export import load_transcript, render
from troupe.sessions.report import build_report
from troupe.sessions.report_render import render_report_html, render_report_markdown
from troupe.tui.palette import SpeakerPalette
from troupe.tui.screens.poll_results import results_renderable

PEOPLE = list(CARDS)  # Maria Lopez, Tom Becker, Aiko Sato, Kwame Mensah
Q_LIKERT = "I would buy it at 2.49."
Q_MULTI = "Where do you buy lunch?"
Q_BOTTLES = "Bottles a week?"
Q_ONE = "Which bottle?"
Q_FAILED = "Would you recommend it?"
Q_PRICE = "Fair price, in euros?"

Row = tuple[str, int, str]  # label (with " (median)" when marked), count, share as shown
View = dict[str, tuple[list[Row], dict[str, str]]]  # question -> (chart rows, statistics)


def write_log(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True)
    with EventLog(run_dir / "events.jsonl", clock=FixedClock(), fsync=False) as log:
        a = log.append
        a("session_started", title="Poll numbers", spec="x.toml", personas=PEOPLE, backend="scripted", model="s-1")
        a("section_started", index=0, title="Polls")

        def asked(poll_id: str, question: str, kind: str, options: list[str] | None = None) -> None:
            a("poll_asked", poll_id=poll_id, question=question, kind=kind, options=options, private_first=True)

        def answer(poll_id: str, agent: str, value: object) -> None:
            a("poll_answer", poll_id=poll_id, agent=agent, value=value, rationale=f"{agent} on {poll_id}")

        asked("intent", Q_LIKERT, "likert5", None)
        answer("intent", PEOPLE[0], "Agree")
        answer("intent", PEOPLE[1], 2)  # a position, read as "Disagree"…
        answer("intent", PEOPLE[2], "strongly agree")  # any case
        answer("intent", PEOPLE[3], "4")
        answer("intent", PEOPLE[1], "Agree")  # …then Tom re-votes: only his latest answer counts
        asked("where", Q_MULTI, "multi", ["Supermarket", "Online", "Market"])
        answer("where", PEOPLE[0], ["Supermarket", "Online"])
        answer("where", PEOPLE[1], ["Online"])
        answer("where", PEOPLE[2], ["Supermarket", "Market"])
        answer("where", PEOPLE[3], ["Supermarket", "Online", "Market"])  # 8 mentions, 4 respondents
        asked("bottles", Q_BOTTLES, "number")
        for person, value in zip(PEOPLE, [7, 8, 9, 12]):
            answer("bottles", person, value)
        asked("one", Q_ONE, "single", ["Glass", "Plastic"])
        answer("one", PEOPLE[0], "glass")
        asked("recommend", Q_FAILED, "likert5", None)
        for person in PEOPLE:
            a(
                "error",
                agent=person,
                kind="invalid_output",
                message="no",
                recovered=False,
                purpose="poll",
                poll_id="recommend",
            )
        a("poll_closed", poll_id="recommend", n=0)
        asked("price", Q_PRICE, "number")
        for person, value in zip(PEOPLE, [2.5, 1.5, 3, 2]):
            answer("price", person, value)
        a("session_ended", reason="moderator")
    return run_dir


def stats_from(line: str) -> dict[str, str]:
    """``Mean 3.50 · Median 4 · SD 1.73 · 95 % CI 0.74–6.26 · n 4`` → {name: value}."""
    out = {}
    for part in line.split(" · "):
        name, value = part.strip().rsplit(" ", 1)
        out[name] = value
    return out


BAR_LINE = re.compile(r"^(?P<label>.+?) +[█▏▎▍▌▋▊▉]* *(?P<count>\d+) \( *(?P<share>\d+%)\)(?P<median> ◀ median)?\s*$")


def tui_view(run_dir: Path) -> View:
    from troupe.core.log import read_events

    palette = SpeakerPalette(PEOPLE)
    view: View = {}
    for poll in collect_polls(read_events(run_dir / "events.jsonl")):
        lines = plain(results_renderable(poll, palette, width=70), width=100).splitlines()
        rows = [
            (m["label"] + (" (median)" if m["median"] else ""), int(m["count"]), m["share"])
            for line in lines
            if (m := BAR_LINE.match(line))
        ]
        stats = next(line for line in lines if re.match(r"^(Mean|n) ", line))
        view[poll.question] = (rows, stats_from(stats))
    return view


MD_ROW = re.compile(r"^\| (?P<label>.+?) \| (?P<count>\d+) \| (?P<share>\d+%) \|")


def markdown_view(text: str) -> View:
    view: View = {}
    for block in text.split("### Poll: ")[1:]:
        question = block.split(" <sub>", 1)[0].strip()
        lines = block.splitlines()
        rows = [(m["label"], int(m["count"]), m["share"]) for line in lines if (m := MD_ROW.match(line))]
        stats = next((line for line in lines if line.startswith(("**Mean**", "**n**"))), "**n** 0")
        view[question] = (rows, stats_from(stats.replace("**", "")))
    return view


def html_view(text: str) -> View:
    view: View = {}
    for block in text.split('<div class="poll"')[1:]:
        question = html.unescape(re.search(r">Poll: (.*?)</h\d>", block)[1])
        rows = []
        for title in re.findall(r"<title>(.*?)</title>", block):
            label, figures = html.unescape(title).rsplit(": ", 1)
            count, share = re.fullmatch(r"(\d+) \((\d+%)\)", figures).groups()
            rows.append((label, int(count), share))
        stats = re.search(r"<p>(<strong>(?:Mean|n)</strong>.*?)</p>", block)
        view[question] = (rows, stats_from(re.sub(r"</?strong>", "", html.unescape(stats[1]))))
    return view


def json_view(text: str) -> View:
    view: View = {}
    for p in json.loads(text)["polls"]:
        rows = [
            (c["label"] + (" (median)" if c["median"] else ""), c["count"], format_share(c["share"]))
            for c in p["chart"]
        ]
        stats: dict[str, str] = {}
        if p["mean"] is not None:
            stats["Mean"] = f"{p['mean']:.2f}"
            stats["Median"] = f"{p['median']:g}"
            stats["SD"] = "—" if p["stdev"] is None else f"{p['stdev']:.2f}"
            if p["ci95"]:
                stats["95 % CI"] = f"{p['ci95'][0]:.2f}–{p['ci95'][1]:.2f}"
        stats["n"] = str(p["n"])
        if p["failed"]:
            stats["Failed"] = str(len(p["failed"]))
        view[p["question"]] = (rows, stats)
    return view


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_log(tmp_path / "run")


async def test_the_tui_every_export_and_the_report_show_the_same_poll_numbers(run_dir: Path) -> None:
    t = load_transcript(run_dir)
    tui = tui_view(run_dir)
    md = markdown_view(render(t, "md", generated_at=GENERATED_AT))
    page = html_view(render(t, "html", generated_at=GENERATED_AT))
    data = json_view(render(t, "json", generated_at=GENERATED_AT))
    report = await build_report(t, mode="lexical", generated_at=GENERATED_AT)
    report_md = markdown_view(render_report_markdown(report).split("## Poll results", 1)[1])
    report_html = html_view(render_report_html(report).split("<h2>Poll results</h2>", 1)[1])
    assert list(tui) == [Q_LIKERT, Q_MULTI, Q_BOTTLES, Q_ONE, Q_FAILED, Q_PRICE]
    for name, view in [
        ("md", md),
        ("html", page),
        ("json", data),
        ("report md", report_md),
        ("report html", report_html),
    ]:
        assert view == tui, name

    # …and the numbers are the right ones
    likert_rows, likert = tui[Q_LIKERT]
    assert ("Agree", 3, "75%") in likert_rows and ("Disagree", 0, "0%") in likert_rows  # the re-vote replaced "2"
    assert likert == {"Mean": "4.25", "Median": "4", "SD": "0.50", "95 % CI": "3.45–5.05", "n": "4"}
    multi_rows, multi = tui[Q_MULTI]
    assert multi_rows == [("Supermarket", 3, "75%"), ("Online", 3, "75%"), ("Market", 2, "50%")]  # of respondents
    assert multi == {"n": "4"}
    bottle_rows, bottles = tui[Q_BOTTLES]
    assert [r[0] for r in bottle_rows] == ["7", "8 (median)", "9", "10", "11", "12"]  # integer bins
    assert bottles["Median"] == "8.5" and bottles["Mean"] == "9.00"
    assert tui[Q_ONE] == ([("Glass", 1, "100%"), ("Plastic", 0, "0%")], {"n": "1"})
    failed_rows, failed = tui[Q_FAILED]
    assert all(count == 0 for _, count, _ in failed_rows) and failed == {"n": "0", "Failed": "4"}
    price_rows, price = tui[Q_PRICE]
    assert [r[0] for r in price_rows] == ["1.5", "2 (median)", "2.5", "3"] and price["Median"] == "2.25"

    # the report's findings quote the same figures
    details = {f.topic: f.detail for f in report.findings if f.basis == "poll"}
    assert details[Q_LIKERT].startswith("mean 4.25, sd 0.50")
    assert details[Q_MULTI].startswith("Supermarket: 3 of 4 (75%)")


def test_the_csv_export_holds_the_answers_these_numbers_come_from(run_dir: Path) -> None:
    t = load_transcript(run_dir)
    rows = list(csv.DictReader(io.StringIO(render(t, "csv"))))
    tui = tui_view(run_dir)
    asked = {r["poll_id"]: r["text"] for r in rows if r["type"] == "poll_asked"}
    for poll_id, question in asked.items():
        latest = {r["speaker"]: r for r in rows if r["type"] == "poll_answer" and r["poll_id"] == poll_id}
        _, stats = tui[question]
        assert str(len(latest)) == stats["n"]  # a re-vote is one respondent
        scores = [float(r["score"]) for r in latest.values() if r["score"]]
        if "Mean" in stats:
            assert f"{statistics.fmean(scores):.2f}" == stats["Mean"]
            assert stats["SD"] == ("—" if len(scores) < 2 else f"{statistics.stdev(scores):.2f}")
    where = [r["value"] for r in rows if r["type"] == "poll_answer" and r["poll_id"] == "where"]
    assert where[0] == "Supermarket; Online"  # the documented multi-choice cell
