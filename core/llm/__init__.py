"""LLM backends behind one small protocol (``protocol.py``)."""

from .protocol import (
    CallUsage,
    ChatBackend,
    ChatRequest,
    ChatResponse,
    EmbeddingBackend,
    EmbeddingResponse,
    Message,
    embedding_backend,
)

__all__ = [
    "CallUsage",
    "ChatBackend",
    "ChatRequest",
    "ChatResponse",
    "EmbeddingBackend",
    "EmbeddingResponse",
    "Message",
    "embedding_backend",
]
