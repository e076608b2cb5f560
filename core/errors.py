"""Troupe's error family.

Every error a user can see derives from :class:`TroupeError`: it carries a one-line,
human-readable message and a short ``title`` (shown by the TUI's error notice). Library
errors (openai, pydantic, tomllib, OSError) are translated into these at the edge where
they enter, so the CLI never prints a traceback for a known failure.

Exit codes (see ``sessions/cli.py``): :class:`BadInputError` → 2, any other
``TroupeError`` → 1.
"""

from __future__ import annotations


class TroupeError(Exception):
    """Root of all Troupe errors."""

    title = "Troupe error"
    exit_code = 1

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class BadInputError(TroupeError):
    """A file or argument the user supplied is invalid (exit code 2).

    The message names the file and the field, e.g.
    ``personas/x.toml: age: Input should be a valid integer``.
    """

    title = "Bad input"
    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        parts = [p for p in (path, field) if p]
        full = ": ".join([*parts, message]) if parts else message
        super().__init__(full)
        self.path = path
        self.field = field


class ConfigError(BadInputError):
    """The configuration file or environment is invalid."""

    title = "Configuration error"


class BackendError(TroupeError):
    """An LLM backend failed (server down, auth, rate limit exhausted, timeout).

    Each error says itself what it means for a session, set where it is raised (as httpx maps
    transport errors at the edge) — there is no list of kinds to consult elsewhere:

    - ``fatal``: no retry on a later turn can fix it (a refused key, no quota, an unknown
      model or endpoint, a server that is gone, a replay that left its recording). The
      session halts — one ``error`` event, no turn counted — and ``troupe resume`` redoes it.
    - ``retryable``: a transient fault the backend gave up on after its retries (429, 5xx,
      timeout). It fails one turn, except in unattended runs (``stop_on_backend_error``).
    - neither: this one call failed (bad request, invalid output); the session goes on.
    """

    title = "Model backend error"
    fatal = False

    def __init__(
        self, message: str, *, kind: str = "backend", retryable: bool = False, fatal: bool | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        if fatal is not None:
            self.fatal = fatal


class BackendUnavailableError(BackendError):
    """The backend cannot be reached or used at all (connection refused, missing extra)."""

    title = "Model backend unavailable"
    fatal = True


class InvalidOutputError(BackendError):
    """The model's reply did not validate, even after the repair retry.

    ``calls`` holds the usage of every call made (so each can still be logged).
    """

    title = "Invalid model output"

    def __init__(self, message: str, *, raw: str = "", calls: list | None = None) -> None:
        super().__init__(message, kind="invalid_output")
        self.raw = raw
        self.calls = list(calls or [])


class CacheMissError(BackendError):
    """Replay mode found no recorded response for a request."""

    title = "Replay cache miss"
    fatal = True

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="cache_miss")


def is_fatal(exc: BaseException) -> bool:
    """True for errors that stop a session (server down, bad key, no quota) rather than a turn."""
    return isinstance(exc, BackendError) and exc.fatal


class RunStateError(TroupeError):
    """A run directory or event log is inconsistent (e.g. resume of a finished run)."""

    title = "Run error"


class BadRunError(BadInputError, RunStateError):
    """A run folder whose event log is missing, empty or corrupt: bad input (exit code 2).

    Still a :class:`RunStateError`, so code that catches run errors keeps catching it.
    """

    title = "Bad run folder"


class DiskError(TroupeError):
    """Writing a run's files failed (read-only folder, full disk, a name the file system
    refuses): exit code 1, one line naming the path and the fault. What was already written
    stays valid and resumable."""

    title = "Disk error"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
