"""The implementation of the public API that ``troupe`` re-exports (the repository root's
``__init__.py``; see docs/api.md).

Internal: import from ``troupe``, not from ``troupe.api``. The API sits on top of the layers
(import-linter: beside the TUI, above ``sessions``) and never imports Textual.
"""
