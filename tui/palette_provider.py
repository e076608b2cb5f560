"""The command palette's moderator actions (ctrl+p).

Added to Textual's own providers (``App.COMMANDS | {ModeratorCommands}``), so theme, keys
and quit stay there. It offers whatever the session screen lists in ``palette_actions()``;
on any other screen it offers nothing. Titles carry persona names: they are escaped, never
read as markup (the palette parses a plain string as markup).
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from .text import plain, visible


class ModeratorCommands(Provider):
    """Every moderator action of the session screen, searchable by name."""

    def _actions(self):  # type: ignore[no-untyped-def]
        from .screens.session import SessionScreen

        screen = self.screen
        if not isinstance(screen, SessionScreen):
            screen = next((s for s in reversed(self.app.screen_stack) if isinstance(s, SessionScreen)), None)
        return screen.palette_actions() if screen is not None else []

    async def discover(self) -> Hits:
        for action in self._actions():
            yield DiscoveryHit(plain(action.title), partial(action.run), help=escape(visible(action.help)))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in self._actions():
            score = matcher.match(action.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(escape(visible(action.title))),
                    partial(action.run),
                    text=action.title,
                    help=escape(visible(action.help)),
                )
