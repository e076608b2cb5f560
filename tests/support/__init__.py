"""Test helpers shared by the suite and by bench/ scripts (the fake OpenAI server)."""

from .fake_openai import FakeOpenAIServer, error, hang, malformed, reply, start_fake_server

__all__ = ["FakeOpenAIServer", "error", "hang", "malformed", "reply", "start_fake_server"]
