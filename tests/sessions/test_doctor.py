"""``troupe doctor`` through the real CLI entry point, against the fake OpenAI server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAIServer
from troupe.sessions.cli import main
from troupe.sessions.commands import doctor

SECRET = "sk-doctor-SECRET-9f8e7d6c5b4a"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # one table row per line, so phrases are not wrapped


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["doctor", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_reachable_openai_server_with_key(fake_openai: FakeOpenAIServer, monkeypatch, capsys) -> None:
    fake_openai.require_key = SECRET
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    code, out = run(capsys)
    assert code == 0
    assert SECRET not in out and "SECRET" not in out
    assert "set ($OPENAI_API_KEY)" in out
    assert "openai — an API key is configured" in out
    assert "reachable, 1 model" in out and fake_openai.base_url in out
    assert "for demos" in out and "ready" in out
    assert [r.path for r in fake_openai.requests] == ["/v1/models"]


def test_rejected_key_fails_without_printing_it(fake_openai: FakeOpenAIServer, monkeypatch, capsys) -> None:
    fake_openai.require_key = "sk-the-right-one"
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    code, out = run(capsys)
    assert code == 1
    assert "rejected the API key" in out and "not usable" in out
    assert SECRET not in out and "the-right-one" not in out


def test_unreachable_server(monkeypatch, capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://user:pw@127.0.0.1:{port}/v1?token=abc")
    code, out = run(capsys, "--timeout", "2")
    assert code == 1
    assert "connection refused" in out and f"127.0.0.1:{port}" in out
    assert "pw@" not in out and "token=abc" not in out  # credentials in a URL are not shown


def test_server_without_models_endpoint_gets_a_chat_probe(fake_openai: FakeOpenAIServer, monkeypatch, capsys) -> None:
    fake_openai.models_endpoint = False
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    code, out = run(capsys)
    assert code == 0 and "1-token chat call" in out
    assert fake_openai.chat_requests[0].body["max_tokens"] == 1


def test_no_key_selects_local_and_reports_its_state(monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        doctor,
        "_local_checks",
        lambda settings: (False, [doctor.Check("local: llama-cpp-python", "warn", "not installed")]),
    )
    code, out = run(capsys)
    assert code == 1
    assert "local — no API key, base URL or Azure endpoint" in out
    assert "not configured" in out and "not installed" in out and "not set" in out

    monkeypatch.setattr(
        doctor, "_local_checks", lambda settings: (True, [doctor.Check("local: model file", "ok", "found")])
    )
    code, out = run(capsys)
    assert code == 0


def test_scripted_backend_is_always_usable(capsys) -> None:
    code, out = run(capsys, "--backend", "scripted")
    assert code == 0 and "scripted — --backend" in out


def test_invalid_config_file_is_reported(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('modle = "gpt-4o"\n')
    monkeypatch.setenv("TROUPE_CONFIG", "")  # main() sets it from --config; undo that afterwards
    code = main(["--config", str(path), "doctor"])
    out = capsys.readouterr()
    assert code == 1
    assert f"{path}: modle: unknown field" in (out.out + out.err).replace("\n", "")


def test_config_file_and_cache_rows(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('backend = "scripted"\n[cache]\nmode = "replay"\npath = "c.sqlite"\n')
    monkeypatch.setenv("TROUPE_CONFIG", str(path))
    code, out = run(capsys)
    assert code == 0
    assert f"{path} (valid)" in out and "backend set by config file" in out
    assert f"replay → {tmp_path / 'c.sqlite'}" in out
