"""The package's curated public surface (as httpx pins its own)."""

from __future__ import annotations

import troupe.personas as personas


def test_exported_members() -> None:
    assert sorted(personas.__all__) == [
        "Persona",
        "library_dir",
        "list_library",
        "load_fragment",
        "load_persona",
        "merge",
        "render_card",
        "resolve_persona",
    ]
    for name in personas.__all__:
        member = getattr(personas, name)
        assert member.__module__.startswith("troupe.personas."), name
        assert member.__doc__, f"{name} has no docstring"
