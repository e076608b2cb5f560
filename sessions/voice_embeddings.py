"""Voice similarity by embeddings: the model calls behind :attr:`Dynamics.embeddings`.

``core/dynamics.py`` does the arithmetic on vectors (:func:`~troupe.core.dynamics.embedding_similarity`);
this module gets the vectors: every distinct remark text of the log (:func:`voice_texts`) is
embedded once, in one ``embed`` call of the backend's embedding capability
(:func:`~troupe.core.llm.protocol.embedding_backend`, the one that memory recall uses; the
backend batches as its provider requires). Calls go through whatever the backend is wrapped
in: with the record/replay cache on (``[cache] mode``), vectors are stored per (model, text)
and a replay recomputes the readout with zero calls.

Never an error: a backend that cannot embed, a failed call or a replay cache without the
vectors give a readout whose ``status`` and ``note`` say so in plain words
(``docs/dynamics.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

from troupe.core.dynamics import EmbeddingReadout, embedding_similarity, voice_texts
from troupe.core.errors import BackendError, TroupeError
from troupe.core.events import Event
from troupe.core.llm.protocol import embedding_backend


async def embed_voices(
    events: Sequence[Event],
    backend: object | None,
    *,
    model: str | None = None,
    unavailable: str | None = None,
) -> EmbeddingReadout:
    """Embed every persona's remarks and compare their voices. ``backend`` None: no backend
    could be had, ``unavailable`` says why. ``model``: the embedding model (default: the
    backend's, ``[memory] embedding_model``)."""
    if backend is None:
        return EmbeddingReadout("unavailable", f"not computed: {unavailable or 'no model backend is available'}")
    embedder = embedding_backend(backend)
    name = getattr(backend, "name", "model")
    if embedder is None:
        return EmbeddingReadout(
            "unavailable", f"not computed: the {name} backend cannot embed texts (the n-gram readout stands alone)"
        )
    by_persona = voice_texts(events)
    texts = list(dict.fromkeys(t for said in by_persona.values() for t in said))
    chosen = model or embedder.embedding_model
    if not texts:
        return EmbeddingReadout(
            "computed", "nobody said anything: nothing to embed", model=chosen, similarity=embedding_similarity({})
        )
    failure: TroupeError | None = None
    try:
        response = await embedder.embed(texts, model=chosen)
        if len(response.vectors) != len(texts):
            raise BackendError(f"{len(response.vectors)} embeddings came back for {len(texts)} texts")
    except TroupeError as exc:  # no endpoint, unknown model, a replay without these texts…
        failure, usage = exc, []
    else:
        usage = response.calls
    tokens = sum(c.prompt_tokens for c in usage if not c.cached)
    cost = sum(c.cost_usd for c in usage)
    cached = sum(1 for c in usage if c.cached)
    readout = EmbeddingReadout(
        "computed",
        "",
        model=chosen,
        texts=len(texts),
        prompt_tokens=tokens,
        cost_usd=cost,
        calls=len(usage),
        cached_calls=cached,
    )
    if failure is not None:
        readout.status, readout.note = "failed", f"not computed: embedding the remarks failed ({failure.message})"
        return readout
    by_text = dict(zip(texts, response.vectors))
    readout.similarity = embedding_similarity({p: [by_text[t] for t in said] for p, said in by_persona.items()})
    from_cache = f", {cached} from the cache" if cached else ""
    readout.note = (
        f"{len(texts)} distinct remark{'s' if len(texts) != 1 else ''} embedded with {chosen}: {tokens:,} tokens, "
        f"${cost:.4f} ({len(usage)} call{'s' if len(usage) != 1 else ''}{from_cache})"
    )
    return readout


__all__ = ["embed_voices"]
