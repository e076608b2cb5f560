"""Structured output validation with one repair retry — shared by every backend.

A backend supplies ``call_once(messages) -> (text, CallUsage)``; :func:`complete_structured`
validates the text against ``request.output_model`` and, if it fails, makes exactly one more
call that quotes the validation error. A second failure raises
:class:`~troupe.core.errors.InvalidOutputError` carrying the usage of both calls.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ValidationError

from ..errors import InvalidOutputError
from ..validation import field_path, problems
from .protocol import CallUsage, ChatRequest, ChatResponse, Message

CallOnce = Callable[[list[Message], bool], Awaitable[tuple[str, CallUsage]]]
"""``call_once(messages, is_repair)`` → (raw text, usage)."""


def strip_fences(text: str) -> str:
    """Models sometimes wrap JSON in ``` fences or add prose around it; keep the object."""
    t = text.strip()
    if t.startswith("```"):
        t = t.split("\n", 1)[1] if "\n" in t else t[3:]
        if t.rstrip().endswith("```"):
            t = t.rstrip()[:-3]
    t = t.strip()
    if not t.startswith("{"):
        start, end = t.find("{"), t.rfind("}")
        if start != -1 and end > start:
            t = t[start : end + 1]
    return t


def describe_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{field_path(p.loc)}: {p.message}" for p in problems(exc)[:5])
    return str(exc)


def validate_output(model: type[BaseModel], text: str) -> BaseModel:
    return model.model_validate_json(strip_fences(text))


def repair_message(error: str) -> Message:
    return Message(
        "user",
        "Your previous reply was not valid. Problem: "
        + error
        + ". Reply again with only one JSON object that matches the schema exactly, nothing else.",
    )


async def complete_structured(request: ChatRequest, call_once: CallOnce) -> ChatResponse:
    assert request.output_model is not None
    calls: list[CallUsage] = []
    text, usage = await call_once(list(request.messages), False)
    calls.append(usage)
    try:
        parsed = validate_output(request.output_model, text)
        return ChatResponse(text=text, parsed=parsed, calls=calls, model=usage.model)
    except (ValidationError, ValueError) as exc:
        error = describe_error(exc)
    messages = [*request.messages, Message("assistant", text[:2000]), repair_message(error)]
    text2, usage2 = await call_once(messages, True)
    calls.append(usage2)
    try:
        parsed = validate_output(request.output_model, text2)
        return ChatResponse(text=text2, parsed=parsed, calls=calls, model=usage2.model)
    except (ValidationError, ValueError) as exc:
        raise InvalidOutputError(
            f"the model's reply did not match the {request.output_model.__name__} schema after one repair: "
            f"{describe_error(exc)}",
            raw=text2,
            calls=calls,
        ) from None


def to_json_text(value: object) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, ensure_ascii=False)
