"""Prompt and schema adaptation for tiny local models (SmolLM2-135M and friends).

The engine builds prompts for capable models: a long system message (the rules of the
simulation plus a ~600-token persona card), a memory summary, a window of recent events and the
current question. A 135M-parameter model cannot follow that — it loses the persona, echoes the
rules, or rambles until the token budget cuts its JSON in half. So the local backend rewrites
such a request before it reaches the model:

1. **Compact prompt** (:func:`compact_messages`), used when the system message is longer than
   ``COMPACT_OVER_TOKENS`` estimated tokens (the engine's turn and poll prompts always are;
   its short memory-consolidation prompt is sent as is):

   * system: two lines of rules and one example of the JSON reply (the same for every persona,
     so consecutive calls share a cached prompt prefix), then ``You are <name> (<descriptor>).``
     and the card's ``short_prompt`` (read from ``request.metadata["card"]``; without one, the
     start of the card's prompt or of the original system message);
   * user: the last few lines of the conversation (for engine turns, the newest lines of the
     recent window, read from the request's typed :class:`PromptParts` — never by searching
     the engine's headings), each cut short, then the current question, then ``Reply as
     <name>.`` The summary, state of mind, recalled memories and any line about JSON/schemas
     are left out (the format is enforced by the grammar instead) — see :func:`split_context`.

2. **Grammar schema** (:func:`grammar_schema`): the JSON schema handed to llama.cpp's
   constrained decoding is a tightened copy of the output model's schema. Every free-text
   string gets a length bound derived from the output budget (:func:`string_cap`), so the
   object always closes before ``max_tokens`` runs out, and may not contain ``"`` (a tiny model
   closes the string there and spills the rest of its sentence into the next field); arrays
   get a ``maxItems``. For :class:`~troupe.core.actions.TurnAction`
   the schema is split in two shapes — ``say``/``think`` with a ``text`` that ends on a full
   stop, or ``pass`` with an empty one — so a turn can never be an empty utterance; ``to`` is
   limited to the participants' names (:func:`participants_of`) and ``feeling`` to a word or
   two, because free strings there are where a tiny model's rambling lands (``_turn_schema``).

3. **Small output budget** (:func:`output_budget`): 96 tokens for a turn (about 140
   characters of speech), a few seconds of generation on two cores.

4. **No parroting** (:func:`parrots`): a turn whose text repeats a line of the prompt word for
   word, or uses the example's sentence, fails validation once; the repair call is then a
   fresh, hotter sample of the compact prompt without the example (a tiny model shown its bad
   reply or the quoted problem repeats those too), and its reply is accepted as it comes (see
   ``LocalBackend.complete``).

5. **Clean ending** (:func:`trim_to_sentence`): a tiny model often talks until the length
   bound, where the grammar forces a full stop onto whatever word came last; such a turn's text
   is cut back to its last full sentence (or word, with an ellipsis) so the transcript never
   shows "…a balance to find what your.".

Everything here is pure (no llama.cpp import), so it is unit-tested without the extra.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ..actions import TurnAction
from ..tokens import estimate_tokens, truncate_to_tokens
from .protocol import ChatRequest, Message, schema_of

COMPACT_OVER_TOKENS = 200
"""A system message longer than this (estimated tokens) triggers the compact prompt."""
TURN_MAX_TOKENS = 96
OTHER_MAX_TOKENS = 160
CONTEXT_LINES = 6
CONTEXT_LINE_TOKENS = 48
CONTEXT_TOKENS = 260
QUESTION_TOKENS = 120
SHORT_PROMPT_TOKENS = 120

TURN_EXAMPLE_TEXT = "Honestly, the price would decide it for me."
_TURN_EXAMPLE = '{"action":"say","text":"' + TURN_EXAMPLE_TEXT + '","to":null,"feeling":"curious"}'
_FORMAT_NOISE = re.compile(r"\b(json|schema)\b", re.IGNORECASE)


# -- prompt ------------------------------------------------------------------------------


def _card_field(card: Any, key: str) -> Any:
    """Cards arrive as dicts (``PersonaCard.to_dict()``) or as ``PersonaCard`` objects."""
    if isinstance(card, Mapping):
        return card.get(key)
    return getattr(card, key, None)


def is_turn(request: ChatRequest) -> bool:
    model = request.output_model
    return model is not None and issubclass(model, TurnAction)


def should_compact(request: ChatRequest, compact: bool | None, threshold: int = COMPACT_OVER_TOKENS) -> bool:
    """``compact`` True/False forces the choice; None decides by the system message's length."""
    if compact is not None:
        return compact
    system = "\n".join(m.content for m in request.messages if m.role == "system")
    return estimate_tokens(system) > threshold


def persona_intro(request: ChatRequest) -> tuple[str, str]:
    """(name, the persona paragraph) for the compact system message."""
    card = request.metadata.get("card")
    name = str(_card_field(card, "name") or request.agent or "").strip()
    descriptor = str(_card_field(card, "descriptor") or "").strip()
    short = str(_card_field(card, "short_prompt") or "").strip()
    if not short:
        # No short card: the start of the original system message is the best we have.
        system = next((m.content for m in request.messages if m.role == "system"), "")
        short = str(_card_field(card, "prompt") or system).strip()
    short = truncate_to_tokens(" ".join(short.split()), SHORT_PROMPT_TOKENS)
    if name and short.lower().startswith(f"you are {name.lower()}"):
        return name, short  # the card already introduces itself
    head = f"You are {name}" if name else "You are a participant in a focus group"
    if descriptor:
        head += f" ({descriptor})"
    return name, f"{head}. {short}".strip()


def _message_lines(message: Message) -> list[str]:
    """The text lines of one message; the agent's own past JSON replies become plain text."""
    content = message.content.strip()
    if message.role == "assistant":
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            content = data["text"]
        return [f"You said: {line.strip()}" for line in content.splitlines() if line.strip()][-2:]
    return [line.strip() for line in content.splitlines() if line.strip()]


def _is_noise(line: str) -> bool:
    """Markdown headers and output-format instructions: structure a tiny model cannot use."""
    return line.startswith("#") or bool(_FORMAT_NOISE.search(line))


def split_context(request: ChatRequest, messages: Sequence[Message] | None = None) -> tuple[list[str], str]:
    """(context lines, the current question) for the compact prompt.

    Engine turns and poll answers carry their prompt by meaning (:class:`PromptParts`): the
    context is the tail of the recent window and the question is the current stimulus — the
    summary, state of mind, recalled moments and the task text are left out (a tiny model only
    parrots them). Any other request (no parts) is plain conversation: the question is the last
    user message's last line, the context the lines before it. A question that only repeats,
    cut short, a line already in the context (the engine's "Respond to the moderator's latest:
    …") is left out: the full line is there.
    """
    parts = request.parts
    if parts is not None:
        earlier = list(parts.recent)
        question_lines = [line.strip() for line in parts.question.splitlines() if line.strip()]
    else:
        convo = [m for m in (request.messages if messages is None else messages) if m.role != "system"]
        last_user = max((i for i, m in enumerate(convo) if m.role == "user"), default=None)
        lines = [[line for line in _message_lines(m) if not _is_noise(line)] for m in convo]
        if last_user is None:
            return _tail([line for group in lines for line in group]), ""
        body = lines[last_user]
        question_lines = body[-1:]
        earlier = [line for group in lines[:last_user] for line in group] + body[:-1]
        earlier += [line for group in lines[last_user + 1 :] for line in group]
    context = _tail([line for line in earlier if not _is_noise(line)])
    question = " ".join(line for line in question_lines if not _is_noise(line))
    if _repeats_context(question, earlier):
        question = ""
    return context, truncate_to_tokens(question, QUESTION_TOKENS)


def _repeats_context(question: str, lines: Sequence[str]) -> bool:
    """Whether ``question`` is (a cut-short copy of) one of ``lines``, after any ``Lead-in:``."""
    core = question.rstrip("…").split(": ", 1)[-1]
    snippet = _normal(core)[:60]
    return len(snippet) >= 20 and any(snippet in _normal(line) for line in lines)


def _cut_line(line: str) -> str:
    """A long line keeps its start and its end: a moderator's question is usually the end."""
    if estimate_tokens(line) <= CONTEXT_LINE_TOKENS:
        return line
    head = truncate_to_tokens(line, CONTEXT_LINE_TOKENS // 3).rstrip("…")
    words = line.split()
    tail: list[str] = []
    while words and estimate_tokens(" ".join([words[-1], *tail])) <= CONTEXT_LINE_TOKENS * 2 // 3:
        tail.insert(0, words.pop())
    return f"{head} … {' '.join(tail)}"


def _tail(lines: list[str]) -> list[str]:
    """The newest lines within the line and token budgets, oldest first."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        line = _cut_line(line)
        cost = estimate_tokens(line)
        if kept and (len(kept) >= CONTEXT_LINES or used + cost > CONTEXT_TOKENS):
            break
        kept.append(line)
        used += cost
    return list(reversed(kept))


def reply_example(request: ChatRequest) -> str:
    """How the reply looks: a hand-written turn, or a template built from the output schema.

    A turn gets a concrete sentence: it shows a 135M model the length and tone wanted (the
    price: it sometimes borrows the example's ``feeling``). Other outputs (polls, notes) get
    ``<placeholders>`` from the field descriptions instead: a concrete example rationale is
    copied word for word by a tiny model, while a placeholder cannot be — the grammar does not
    let a free-text value start with ``<``.
    """
    if is_turn(request):
        return _TURN_EXAMPLE
    schema = request.json_schema()
    if not schema:
        return ""
    return _template(schema, schema.get("$defs", {}), "")


def _template(schema: dict[str, Any], defs: dict[str, Any], field: str) -> str:
    schema = _resolve(schema, defs)
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if "enum" in schema:
        return "<one of the options>"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_resolve(s, defs) for s in schema[key]]
            non_null = [s for s in options if s.get("type") != "null"]
            return _template(non_null[0], defs, field) if non_null else "null"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        fields = ",".join(
            f'"{name}":{_template(sub, defs, name)}' for name, sub in schema.get("properties", {}).items()
        )
        return "{" + fields + "}"
    if kind == "array":
        return "[" + _template(schema.get("items", {"type": "string"}), defs, field) + ", …]"
    if kind in ("integer", "number"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        what = "a whole number" if kind == "integer" else "a number"
        return f"<{what} from {lo:g} to {hi:g}>" if lo is not None and hi is not None else f"<{what}>"
    if kind == "boolean":
        return "<true or false>"
    if kind == "null":
        return "null"
    description = " ".join(str(schema.get("description") or "").split()[:12]).rstrip(".")
    return f"<{description or field.replace('_', ' ') or 'text'}>"


def compact_messages(
    request: ChatRequest, messages: Sequence[Message] | None = None, *, with_example: bool = True
) -> list[Message]:
    """The two-message prompt a tiny model can follow (see the module docstring).

    ``with_example=False`` leaves the example reply out (the repair of a parroted turn: the
    grammar keeps the shape, and the example is the line most often parroted)."""
    source = list(request.messages if messages is None else messages)
    name, intro = persona_intro(request)
    rules = "Stay in character. Answer in one or two short, casual sentences, in the first person."
    if is_turn(request):
        rules += ' Use "say" to speak, "think" for a private thought, "pass" to stay silent.'
    example = reply_example(request) if with_example else ""
    # Shared text first, persona last: consecutive calls for different personas then share a
    # prompt prefix, which llama.cpp keeps in its KV cache instead of evaluating it again.
    system = rules
    if example:
        system += f"\nReply with one JSON object, for example:\n{example}"
    system += f"\n{intro}"
    context, question = split_context(request, source)
    parts = ["\n".join(context) if context else "The discussion is starting."]
    if question:
        parts.append(question)
    parts.append(f"Reply as {name}." if name else "Reply now.")
    user = "\n".join(parts)
    return [Message("system", system), Message("user", user)]


def output_budget(request: ChatRequest, compact: bool) -> int:
    """max_tokens for the call: the request's, capped to a small budget in compact mode."""
    default = TURN_MAX_TOKENS if is_turn(request) else OTHER_MAX_TOKENS
    if request.max_tokens is None:
        return default
    return min(request.max_tokens, default) if compact else request.max_tokens


def trim_to_sentence(text: str, cap: int) -> str:
    """``text`` cut back to its last complete sentence when it ran into the length cap.

    Texts that stopped on their own (shorter than the cap) are returned unchanged.
    """
    if len(text) < cap - 1:
        return text
    # At the cap the grammar forced a final stop onto whatever word came last: look before it.
    body = text[:-1] if text[-1:] in ".!?…" else text
    ends = [m.end() for m in re.finditer(r"[.!?…](?=\s|$)", body)]
    if ends and ends[-1] >= len(text) * 0.3:
        return text[: ends[-1]].strip()
    space = body.rstrip().rfind(" ")
    cut = body[:space] if space > len(body) * 0.5 else body
    return cut.rstrip(" ,;:-") + "…"


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def parrots(text: str, shown: str) -> bool:
    """A turn's text that repeats a line it was shown (:func:`is_copy`), or that contains the
    example reply's sentence anywhere (the cut-back-to-a-sentence step would expose it)."""
    return is_copy(text, shown) or _normal(TURN_EXAMPLE_TEXT) in _normal(text)


def is_copy(text: str, prompt: str) -> bool:
    """Whether a reply just repeats a line it was shown (the example, the persona, something
    someone said — a 135M model's favourite move), ignoring case, punctuation and a leading
    ``Name:``. Replies under three words are never counted as copies ("No.", "I agree.")."""
    said = _normal(_SPEAKER.sub("", text.strip(), count=1))
    words = said.split()
    if len(words) < 3:
        return False
    seen = _normal(prompt)
    if said in seen:
        return True
    # A near copy ("I'm X, I've been…" for "I'm X, and I've been…"): most of its six-word runs
    # appear in what it was shown.
    if len(words) < 8:
        return False
    runs = [" ".join(words[i : i + 6]) for i in range(len(words) - 5)]
    return sum(run in seen for run in runs) >= 0.5 * len(runs)


# -- grammar schema ----------------------------------------------------------------------


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].split("/")[-1]]
    return schema


def string_cap(max_tokens: int) -> int:
    """Longest string (characters) that still lets a small object close within ``max_tokens``.

    ~40 tokens go to the braces, keys, spacing and the other fields; English prose runs ~4
    characters a token but numbers, prices and odd words far fewer, so we count 2.5.
    """
    return max(40, int((max_tokens - 40) * 2.5))


_FREE_CHAR = '[^"\\\\\\x00-\\x1f]'
"""A JSON string character a tiny model may write: no quote, backslash or control character
(a model that wants to quote something would close the string instead)."""


def _free_text(low: int, high: int, *, one_sentence: bool = False) -> dict[str, Any]:
    """A plain string of ``low``..``high`` characters that cannot start with ``<`` or a blank
    (so the template's ``<placeholders>`` cannot be copied); ``one_sentence``: no ``.!?``
    inside and one at the end (a field described as "one sentence" then cannot ramble on)."""
    first = '[^"\\\\\\x00-\\x1f< ]'  # GBNF has no \\s; control characters are out already
    if one_sentence:
        inner = '[^"\\\\\\x00-\\x1f.!?]'
        return {"type": "string", "pattern": f"^{first}{inner}{{{max(0, low - 2)},{max(0, high - 2)}}}[.!?]$"}
    return {"type": "string", "pattern": f"^{first}{_FREE_CHAR}{{{max(0, low - 1)},{max(0, high - 1)}}}$"}


def _is_plain_string(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and not ({"enum", "const", "format", "pattern"} & node.keys())


def _count_plain_strings(node: Any) -> int:
    if isinstance(node, list):
        return sum(_count_plain_strings(item) for item in node)
    if not isinstance(node, dict):
        return 0
    return int(_is_plain_string(node)) + sum(_count_plain_strings(v) for v in node.values())


def _tighten(node: Any, cap: int) -> Any:
    """Copy of a schema whose plain strings are bounded free text and arrays have ``maxItems``."""
    if isinstance(node, list):
        return [_tighten(item, cap) for item in node]
    if not isinstance(node, dict):
        return node
    if _is_plain_string(node):
        high = min(int(node.get("maxLength", cap)), cap)
        one_sentence = "one sentence" in str(node.get("description", "")).lower()
        return _free_text(max(1, int(node.get("minLength", 1))), max(2, high), one_sentence=one_sentence)
    out = {key: _tighten(value, cap) for key, value in node.items() if key not in ("title", "description", "default")}
    if key_types(out) & {"array"}:
        out["maxItems"] = min(int(out.get("maxItems", 8)), 8)
    if "properties" in node and isinstance(node["properties"], dict):
        # The properties mapping's keys are field names, not schema keywords: keep them all.
        out["properties"] = {k: _tighten(v, cap) for k, v in node["properties"].items()}
    return out


def key_types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if isinstance(kind, str) else set()


def _turn_schema(cap: int, participants: Sequence[str] | None) -> dict[str, Any]:
    """TurnAction as two shapes: say/think with real text, or pass with empty text.

    ``text`` is a pattern, not just a length: no double quote or backslash (a tiny model that
    wants to quote something closes the string instead, and its sentence then spills into
    ``to``), and it must end on ``.``, ``!``, ``?`` or ``…`` — so the string cannot close
    mid-sentence. ``to`` is a participant's name or null (free text there is where a tiny
    model's rambling lands); ``feeling`` one or two lowercase words.
    """
    names = [n for n in (participants or []) if n]
    to: dict[str, Any] = {"anyOf": [{"type": "null"}, {"enum": names}]} if names else {"type": "null"}
    feeling = {"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[a-z]{2,14}( [a-z]{2,14})?$"}]}
    text = {"type": "string", "pattern": f"^{_FREE_CHAR}{{0,{cap - 1}}}[.!?…]$"}
    order = ["action", "text", "to", "feeling"]

    def shape(action: dict[str, Any], text: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"action": action, "text": text, "to": to, "feeling": feeling},
            "required": order,
            "additionalProperties": False,
        }

    speak = shape({"enum": ["say", "think"]}, text)
    silent = shape({"const": "pass"}, {"const": ""})
    return {"anyOf": [speak, silent]}


def grammar_schema(
    model: type[BaseModel], max_tokens: int, participants: Sequence[str] | None = None
) -> dict[str, Any]:
    """The schema given to llama.cpp's grammar: the model's, tightened (see module docstring)."""
    cap = string_cap(max_tokens)
    if issubclass(model, TurnAction):
        return _turn_schema(cap, participants)
    schema = schema_of(model)
    # Several free-text fields share the budget (a poll's rationale, a note's summary…).
    per_string = max(40, cap // max(1, _count_plain_strings(schema)))
    return _tighten(copy.deepcopy(schema), per_string)


_SPEAKER = re.compile(r"^([A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,3}):\s")
_NOT_PEOPLE = {"moderator", "you", "you said", "reply", "now", "note", "memory"}


def participants_of(request: ChatRequest) -> list[str] | None:
    """Names the persona may address (never itself), or None when none are known: the prompt's
    :attr:`PromptParts.others`, or ``metadata["participants"]`` for a request built by hand."""
    me = (request.agent or "").strip()
    names = request.parts.others if request.parts is not None else request.metadata.get("participants")
    found: list[str] = []
    if isinstance(names, (list, tuple)):
        found = [str(n).strip() for n in names if isinstance(n, str)]
    unique = list(dict.fromkeys(n for n in found if n and n != me and n.lower() not in _NOT_PEOPLE and len(n) <= 40))
    return unique or None
