"""LLM backends behind one small protocol (``protocol.py``)."""

from .protocol import CallUsage, ChatBackend, ChatRequest, ChatResponse, Message

__all__ = ["CallUsage", "ChatBackend", "ChatRequest", "ChatResponse", "Message"]
