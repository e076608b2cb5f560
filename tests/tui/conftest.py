"""Fixtures for the TUI tests: a small guide and a panel (helpers live in ``tui_fixtures``)."""

from __future__ import annotations

import pytest

from tests.tui.tui_fixtures import make_cards, make_guide


@pytest.fixture
def guide():
    return make_guide()


@pytest.fixture
def cards():
    return make_cards(4)
