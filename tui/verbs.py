"""The moderator's verbs: one declarative table, and everything else derived from it.

Each :class:`Verb` says once what a moderator action is called, which key runs it (if any),
which slash command runs it and with what argument, what it does, and whether it asks for
confirmation. The session screen's key bindings (:func:`bindings`), the help screen, the
command palette and the command line's parser and dispatch all read :data:`VERBS`; adding a
verb is one row here and one ``verb_<name>`` method on the session screen.

Keys act only while the panel has focus (``panel_key``): the control bar owns every
printable key while the moderator types, and a key never fires from a paste. Verbs marked
``in_feed`` also work while the feed has focus (:func:`feed_bindings`), on its selected entry
where they act on one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Verb:
    """One moderator action."""

    name: str
    """The verb's id: the session screen runs it with ``verb_<name>(argument)``."""
    title: str
    """Its name in the footer, the palette and the help."""
    description: str
    """One line: what it does."""
    key: str | None = None
    """The key that runs it (a Textual key name), or None."""
    key_label: str = ""
    """How the help writes the key (``space``, ``?``); defaults to the key."""
    command: str | None = None
    """The slash command (without the slash), or None."""
    argument: str = ""
    """The command's argument syntax for the help (``Name``, ``[md|json|csv|html]``)."""
    name_argument: bool = False
    """The argument is a persona's name (completed and resolved as such)."""
    needs_argument: bool = False
    """The command refuses to run without its argument."""
    confirm: bool = False
    """It can throw work away: it asks first (when it would)."""
    footer: bool = False
    """Shown in the footer (footer order is priority order: the first ones survive 80 columns)."""
    palette: bool = True
    """Offered by the command palette (per-persona verbs are offered once per persona)."""
    per_persona: bool = False
    """A palette entry per seated persona rather than one."""
    palette_title: str = ""
    """The palette's title when it differs from ``title`` (``Show a stimulus…``)."""
    persona_title: str = ""
    """For per-persona verbs: the palette title with ``{name}`` (``Resume {name} (paused)``)."""
    key_action: str | None = None
    """The key's action when it differs from running the verb (``p`` toggles the selected persona)."""
    keeps_rest: bool = False
    """After the persona's name the command takes more (``/devil Name [position]``): the
    verb gets it as a second argument."""
    in_feed: bool = False
    """Its key also works while the feed has focus (``*`` then stars the selected entry)."""

    @property
    def syntax(self) -> str:
        """``/export [md|json|csv|html]``: the command as the help writes it."""
        if self.command is None:
            return ""
        return f"/{self.command} {self.argument}".rstrip()

    @property
    def shown_key(self) -> str:
        return self.key_label or self.key or ""


VERBS: tuple[Verb, ...] = (
    Verb(
        "stimulus",
        "Stimulus",
        "show a stimulus: /stimulus TEXT, or the dialog (text, concept card, image)",
        key="s",
        command="stimulus",
        argument="[TEXT]",
        footer=True,
        palette_title="Show a stimulus…",
    ),
    Verb(
        "poll",
        "Poll",
        "poll the panel: the poll dialog (/poll QUESTION fills in the question)",
        key="o",
        command="poll",
        argument="[QUESTION]",
        footer=True,
        palette_title="Poll the panel…",
    ),
    Verb(
        "pause",
        "Pause",
        "pause a persona (p: the selected one, /pause Name) or, with no name, the whole session",
        key="p",
        command="pause",
        argument="[Name]",
        name_argument=True,
        footer=True,
        key_action="pause_selected",
        per_persona=True,
        persona_title="Pause {name}",
    ),
    Verb(
        "resume",
        "Resume",
        "resume a persona (/resume Name) or, with no name, the whole session",
        command="resume",
        argument="[Name]",
        name_argument=True,
        per_persona=True,
        persona_title="Resume {name} (paused)",
    ),
    Verb(
        "results",
        "Results",
        "the results of the polls so far (the latest first)",
        key="r",
        command="results",
        palette_title="Poll results",
    ),
    Verb(
        "discuss",
        "Discuss the results",
        "a round in which the panel discusses the latest revealed poll's results",
        command="discuss",
    ),
    Verb(
        "mute",
        "Mute",
        "mute a persona (m: the selected one): it still takes turns, nobody hears it",
        key="m",
        command="mute",
        argument="Name",
        name_argument=True,
        needs_argument=True,
        footer=True,
        key_action="mute_selected",
        per_persona=True,
        persona_title="Mute {name}",
    ),
    Verb(
        "unmute",
        "Unmute",
        "unmute a persona: the room hears it again",
        command="unmute",
        argument="Name",
        name_argument=True,
        needs_argument=True,
        per_persona=True,
        persona_title="Unmute {name} (muted)",
    ),
    Verb(
        "next",
        "Next section",
        "skip the rest of this section and start the next (asks first when beats remain)",
        key="n",
        command="next",
        confirm=True,
        footer=True,
    ),
    Verb("round", "One more round", "one more round of the current section", command="round"),
    Verb(
        "advance",
        "Round",
        "advance the guide one beat (section start, a round, a poll); stops auto-run when it is on",
        key="space",
        command="step",
        footer=True,
        palette_title="Next round",
    ),
    Verb(
        "auto",
        "Auto",
        "toggle auto-run: keep advancing the guide",
        key="a",
        command="auto",
        footer=True,
        palette_title="Toggle auto-run",
    ),
    Verb(
        "export",
        "Export",
        "export the transcript (the dialog, or straight to the run folder in one format)",
        key="e",
        command="export",
        argument="[md|json|csv|html]",
        footer=True,
        palette_title="Export…",
    ),
    Verb(
        "details",
        "Details",
        "a persona's card, memory, private answers and airtime (enter: the selected one)",
        key="enter",
        command="details",
        argument="Name",
        name_argument=True,
        needs_argument=True,
        per_persona=True,
        persona_title="Details of {name}",
        key_action="details_selected",
    ),
    Verb(
        "thoughts",
        "Thoughts",
        "show or hide private thoughts in the panes",
        key="t",
        command="thoughts",
        palette_title="Toggle private thoughts",
    ),
    Verb(
        "quiet",
        "Call on the quiet ones",
        "call on the quiet ones: the next round goes to those with the least airtime (/quiet [N])",
        key="c",
        command="quiet",
        argument="[N]",
    ),
    Verb(
        "devil",
        "Devil's advocate",
        "devil's advocate (v: the selected persona; /devil Name [position]) argues the minority view "
        "for one turn, marked as such",
        key="v",
        command="devil",
        argument="Name [position]",
        name_argument=True,
        needs_argument=True,
        keeps_rest=True,
        key_action="devil_selected",
        per_persona=True,
        persona_title="Devil's advocate: {name}",
    ),
    Verb(
        "hold",
        "Hold back",
        "hold back a dominant persona (b: the selected one; /hold Name [N]) for the next N rounds (default 2)",
        key="b",
        command="hold",
        argument="Name [N]",
        name_argument=True,
        needs_argument=True,
        keeps_rest=True,
        key_action="hold_selected",
        per_persona=True,
        persona_title="Hold back {name} for two rounds",
    ),
    Verb(
        "readouts",
        "Dynamics panel",
        "show or hide the live group-dynamics panel: airtime, who dominates, who answered whom, conformity, voices",
        key="y",
        command="readouts",
        palette_title="Toggle the group-dynamics panel",
    ),
    Verb(
        "dynamics",
        "Group dynamics",
        "group dynamics now: airtime shares, who dominates, conformity, voice overlap",
        command="dynamics",
    ),
    Verb(
        "branch",
        "Branch here",
        "branch here: /branch [SEQ] copies events 1..SEQ (default: all) into a new run to go on differently",
        command="branch",
        argument="[SEQ]",
    ),
    Verb(
        "star",
        "Star",
        "star an entry for the debrief: /star SEQ [tag] (*: the selected feed entry while the feed has focus, "
        "else the selected persona's latest line)",
        key="asterisk",
        key_label="*",
        command="star",
        argument="[SEQ] [tag]",
        palette_title="Star the selected persona's latest line",
        in_feed=True,
    ),
    Verb(
        "highlights",
        "Highlights",
        "the starred entries: enter jumps to one in the feed",
        key="h",
        command="highlights",
        in_feed=True,
    ),
    Verb(
        "guide",
        "Guide",
        "show or hide the guide sidebar: sections, goal, prompt, what is to come, probes, clocks",
        key="g",
        command="guide",
        palette_title="Toggle the guide sidebar",
    ),
    Verb(
        "probe",
        "Probe",
        "fire one of this section's unused probes: /probe [N] (default the first; enter in the sidebar)",
        command="probe",
        argument="[N]",
    ),
    Verb(
        "find",
        "Find",
        "search the feed (plain text, any case): /find TEXT; in the bar enter/↑ older match, ↓ newer, esc closes",
        key="ctrl+f",
        command="find",
        argument="[TEXT]",
        palette_title="Search the feed…",
        in_feed=True,
    ),
    Verb(
        "feed",
        "Feed",
        "move into the feed: ↑↓ (k j) select an entry, home/end the first/latest, * stars it, "
        "f filters to its speaker, esc goes back",
        key="l",
        palette_title="Select entries in the feed",
    ),
    Verb(
        "filter",
        "Filter",
        "show only one persona's entries and what they were asked: /filter Name (f: the selected persona, "
        "or in the feed the selected entry's); /filter or f again shows everyone",
        key="f",
        command="filter",
        argument="[Name]",
        name_argument=True,
        key_action="filter_selected",
        palette_title="Show everyone in the feed (clear the filter)",
        in_feed=True,
    ),
    Verb(
        "latest",
        "Latest",
        "jump to the newest entry in the feed; it follows new events again",
        key="end",
        command="latest",
        palette_title="Jump to the latest entry",
        in_feed=True,
    ),
    Verb(
        "timestamps",
        "Timestamps",
        "show or hide each feed entry's time (since the session started, as the header's clock)",
        key="T",
        command="timestamps",
        palette_title="Toggle timestamps in the feed",
        in_feed=True,
    ),
    Verb(
        "note",
        "Note",
        "a private note for yourself (/note TEXT): logged, exported, never seen by the panel",
        command="note",
        argument="TEXT",
        needs_argument=True,
        palette=False,
    ),
    Verb(
        "help",
        "Help",
        "keys and commands",
        key="question_mark",
        key_label="?",
        command="help",
        footer=True,
        in_feed=True,
    ),
    Verb(
        "end",
        "End the session",
        "end the session (asks first; the run stays in its folder)",
        command="end",
        confirm=True,
    ),
)
"""Every moderator verb, in the order the help and the palette list them."""

BY_NAME: dict[str, Verb] = {v.name: v for v in VERBS}
BY_COMMAND: dict[str, Verb] = {v.command: v for v in VERBS if v.command}
COMMANDS: dict[str, str] = {v.command: v.description for v in VERBS if v.command}
"""Slash command → its one-line help (completion and the command line read it)."""
NAMED_COMMANDS = frozenset(v.command for v in VERBS if v.command and v.name_argument)
"""Commands whose argument is a persona name (completed and resolved as such)."""

QUIT_TOOLTIP = "Quit (asks first while a round runs). The run stays in its folder; troupe resume RUN_DIR continues it"
GLOBAL_KEYS: tuple[tuple[str, str], ...] = (
    ("arrows", "move the selection between personas"),
    ("/ or i", "type in the control bar (escape leaves it)"),
    ("ctrl+p", "command palette: every moderator action"),
    ("ctrl+q", "quit (asks first while a round runs; the run stays resumable: troupe resume RUN_DIR)"),
)
"""Keys that are not verbs of the session (moving, typing, the palette, quitting)."""


def key_verbs() -> Iterator[Verb]:
    return (v for v in VERBS if v.key)


FOOTER_ORDER = ("advance", "pause", "mute", "next", "export", "help", "quit", "stimulus", "poll", "auto")
"""The footer's order is its priority: at 80 columns the first ones and quit still show."""


def panel_bindings() -> list[Binding]:
    """The panel's one-key bindings, derived from :data:`VERBS` (footer ones first).

    They live on the persona grid, so they act only while a pane has focus: never while the
    moderator types, and never with the focus nowhere (after a dialog closes, say). Quit is
    listed among them only to place it in the footer; it is the app's priority binding.
    """
    rank = {name: i for i, name in enumerate(FOOTER_ORDER)}
    out: list[tuple[int, Binding]] = [
        (
            rank.get(v.name, len(rank)),
            Binding(
                v.key or "",
                f"screen.{v.key_action or 'verb(' + repr(v.name) + ')'}",
                v.title,
                id=f"troupe.{v.name}",
                tooltip=v.description[:1].upper() + v.description[1:],
                show=v.footer,
            ),
        )
        for v in key_verbs()
        if v.key != "enter"  # enter belongs to the pane itself (details of that persona)
    ]
    quit_key = Binding("ctrl+q", "app.quit", "Quit", id="troupe.panel.quit", priority=True, tooltip=QUIT_TOOLTIP)
    out.append((rank["quit"], quit_key))
    return [binding for _, binding in sorted(out, key=lambda pair: pair[0])]


FEED_FOOTER = ("star", "filter", "latest", "highlights", "help")
"""The verbs the footer lists while the feed has focus, in that order."""


def typing_bindings(scope: str) -> list[Binding]:
    """``i`` to type in the control bar and ``/`` to start a command there, from the panel or the feed."""
    return [
        Binding("i", "screen.focus_input", "Type", id=f"{scope}.type", show=False, tooltip="Type in the control bar"),
        Binding(
            "slash",
            "screen.focus_input('/')",
            "Command",
            id=f"{scope}.command",
            show=False,
            tooltip="Type a /command in the control bar",
        ),
    ]


def feed_bindings() -> list[Binding]:
    """The keys of the session's feed while it has focus, derived from :data:`VERBS` (those
    marked ``in_feed``), with ``i`` and ``/`` to type and escape back to the panel.

    The feed's own keys (↑↓ k j home end: the selected entry) are the feed widget's.
    """
    rank = {name: i for i, name in enumerate(FEED_FOOTER)}
    verbs = sorted((v for v in VERBS if v.in_feed and v.key), key=lambda v: rank.get(v.name, len(rank)))
    return [
        *(
            Binding(
                v.key or "",
                f"screen.{v.key_action or 'verb(' + repr(v.name) + ')'}",
                v.title,
                id=f"troupe.feed.{v.name}",
                tooltip=v.description[:1].upper() + v.description[1:],
                show=v.name in rank,
            )
            for v in verbs
        ),
        *typing_bindings("troupe.feed"),
        Binding("escape", "screen.leave_feed", "Panel", id="troupe.feed.leave", tooltip="Back to the panel"),
    ]
