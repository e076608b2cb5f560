"""A/B experiments: one study, several arms (guide variants), the same polls, effect sizes.

``troupe study CONTROL.toml --groups K --arm B=variant.toml [--arm C=…] [--match-on gender,age]``
runs K groups per arm. The persona pool is **randomised to arms**: personas are grouped into
strata by the ``--match-on`` attributes (age by decade; any card trait, or a twin's survey
value), each stratum is shuffled with the seed and dealt to the arms in turn, so every arm gets
about the same number of personas and the same mix of the matched attributes, and no persona
sits in two arms (their answers are independent between arms).

Each poll asked in every arm is compared between the control arm (the first) and each other
arm (:func:`compare_arms`):

* scale and number polls: the difference of means (arm − control) with Welch's 95 % CI,
  **Hedges' g** (Cohen's d corrected for small samples) with a seeded bootstrap 95 % CI,
  Mann–Whitney U, and the distribution figures of :mod:`.fidelity` (SD ratio with its CI,
  Brown–Forsythe, extremes with Fisher's test, Wasserstein distance, Cramér–von Mises);
* choice polls: the chi-square test of the arms × options table, **Cramér's V**, and per
  option the difference of shares with a seeded bootstrap 95 % CI.
"""

from __future__ import annotations

import math
import random
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from troupe.core.card import PersonaCard
from troupe.core.errors import BadInputError
from troupe.core.poll_stats import CHOICE_KINDS, NUMERIC_KINDS, PollResult

from .fidelity import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Fidelity, assess, format_p
from .human_validation import poll_scale

# -- randomisation ------------------------------------------------------------------------------


def parse_arm(text: str) -> tuple[str, str]:
    """``--arm NAME=GUIDE`` → (name, guide)."""
    name, sep, guide = text.partition("=")
    if not sep or not name.strip() or not guide.strip():
        raise BadInputError(f"{text!r} is not NAME=GUIDE", field="--arm")
    if not all(ch.isalnum() or ch in "-_" for ch in name.strip()):
        raise BadInputError(f"arm name {name.strip()!r}: use letters, digits, - and _", field="--arm")
    return name.strip(), guide.strip()


def stratum(card: PersonaCard, match_on: Sequence[str]) -> tuple[str, ...]:
    """The card's values of the matched attributes (age as its decade: ``40s``)."""
    traits = card.traits or {}
    survey = traits.get("survey") if isinstance(traits.get("survey"), dict) else {}
    key: list[str] = []
    for attribute in match_on:
        value = traits.get(attribute)
        if value is None and survey:
            value = next((v for k, v in survey.items() if k.casefold() == attribute.casefold()), None)
        if attribute == "age" and isinstance(value, int):
            value = f"{value // 10 * 10}s"
        key.append("" if value is None else str(value).casefold())
    return tuple(key)


def assign_arms(
    pool: Sequence[PersonaCard], arms: Sequence[str], *, match_on: Sequence[str] = (), seed: int = 0
) -> dict[str, list[PersonaCard]]:
    """Each persona to one arm: strata by ``match_on``, shuffled by ``seed``, dealt in turn.

    The deal continues from stratum to stratum, so arm sizes differ by at most one, and within
    a stratum by at most one too. The same pool, arms, attributes and seed give the same arms."""
    if len(pool) < len(arms):
        raise BadInputError(f"{len(pool)} personas cannot fill {len(arms)} arms", field="--arm")
    strata: dict[tuple[str, ...], list[PersonaCard]] = {}
    for card in sorted(pool, key=lambda c: c.name):
        strata.setdefault(stratum(card, match_on), []).append(card)
    out: dict[str, list[PersonaCard]] = {a: [] for a in arms}
    turn = random.Random(f"arms|{seed}").randrange(len(arms))
    for key in sorted(strata):
        members = strata[key]
        random.Random(f"arms|{seed}|{'|'.join(key)}").shuffle(members)
        for card in members:
            out[arms[turn % len(arms)]].append(card)
            turn += 1
    return out


# -- comparison ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float | None
    high: float | None

    def text(self, digits: int = 2) -> str:
        ci = f" (95 % CI {self.low:+.{digits}f} to {self.high:+.{digits}f})" if self.low is not None else ""
        return f"{self.estimate:+.{digits}f}{ci}"

    def to_json(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "ci95": None if self.low is None else [self.low, self.high]}


@dataclass(slots=True)
class ArmComparison:
    """One poll: an arm against the control arm."""

    poll_id: str
    kind: str
    control: str
    arm: str
    n_control: int
    n_arm: int
    mean_control: float | None = None
    mean_arm: float | None = None
    mean_difference: Interval | None = None
    hedges_g: Interval | None = None
    mann_whitney_p: float | None = None
    distribution: Fidelity | None = None
    chi_square: tuple[float, float, int] | None = None
    """(statistic, p, df)."""
    cramers_v: float | None = None
    share_differences: dict[str, Interval] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line in plain words."""
        if self.mean_difference is not None and self.hedges_g is not None:
            g = self.hedges_g
            size = _size_word(abs(g.estimate))
            return (
                f"{self.arm} − {self.control}: mean {_num(self.mean_arm)} vs {_num(self.mean_control)}, "
                f"difference {self.mean_difference.text()}; Hedges' g {g.text()} ({size})"
                + (f"; Mann–Whitney {format_p(self.mann_whitney_p)}" if self.mann_whitney_p is not None else "")
            )
        if self.chi_square is not None:
            stat, p, df = self.chi_square
            biggest = max(self.share_differences.items(), key=lambda kv: abs(kv[1].estimate), default=None)
            shift = f"; largest shift {biggest[0]!r} {biggest[1].estimate:+.0%}".replace("%", " pp") if biggest else ""
            return (
                f"{self.arm} vs {self.control}: χ² = {stat:.2f}, df = {df}, {format_p(p)}; "
                f"Cramér's V {self.cramers_v:.2f}{shift}"
            )
        return f"{self.arm} vs {self.control}: not comparable ({'; '.join(self.notes) or 'too few answers'})"

    def to_json(self) -> dict[str, Any]:
        return {
            "poll_id": self.poll_id,
            "kind": self.kind,
            "control": self.control,
            "arm": self.arm,
            "n": {"control": self.n_control, "arm": self.n_arm},
            "mean": {"control": self.mean_control, "arm": self.mean_arm},
            "mean_difference": self.mean_difference.to_json() if self.mean_difference else None,
            "hedges_g": self.hedges_g.to_json() if self.hedges_g else None,
            "mann_whitney_p": self.mann_whitney_p,
            "distribution": self.distribution.to_json() if self.distribution else None,
            "chi_square": None
            if self.chi_square is None
            else {"statistic": self.chi_square[0], "p": self.chi_square[1], "df": self.chi_square[2]},
            "cramers_v": self.cramers_v,
            "share_differences": {k: v.to_json() for k, v in self.share_differences.items()},
            "summary": self.summary(),
            "notes": self.notes,
        }


def compare_arms(control: PollResult, arm: PollResult, *, control_name: str, arm_name: str) -> ArmComparison:
    """Every figure that applies to the poll's kind (see the module docstring)."""
    import numpy as np
    from scipy import stats

    c = ArmComparison(control.poll_id, control.kind, control_name, arm_name, control.n, arm.n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if control.kind in NUMERIC_KINDS:
            x, y = arm.scores, control.scores
            c.mean_arm, c.mean_control = arm.mean, control.mean
            if len(x) < 2 or len(y) < 2:
                c.notes.append("fewer than two answers in an arm")
                return c
            diff = statistics.fmean(x) - statistics.fmean(y)
            if statistics.pvariance(x) or statistics.pvariance(y):
                t = stats.ttest_ind(x, y, equal_var=False)
                ci = t.confidence_interval(0.95)
                c.mean_difference = Interval(diff, float(ci.low), float(ci.high))
                c.mann_whitney_p = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
            else:
                c.mean_difference = Interval(diff, None, None)
                c.notes.append("every answer in both arms is the same")
            g = hedges_g(x, y)
            if g is not None:
                boot = stats.bootstrap(
                    (np.asarray(x), np.asarray(y)),
                    lambda a, b, axis=-1: _g_vectorised(a, b, axis),
                    n_resamples=BOOTSTRAP_RESAMPLES,
                    vectorized=True,
                    method="percentile",
                    rng=np.random.default_rng(BOOTSTRAP_SEED),
                )
                lo, hi = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
                c.hedges_g = Interval(g, lo, hi) if math.isfinite(lo) and math.isfinite(hi) else Interval(g, None, None)
            c.distribution = assess(x, y, poll_scale(control))
        elif control.kind in CHOICE_KINDS:
            options = [o for o in control.options if control.counts.get(o, 0) or arm.counts.get(o, 0)]
            if len(options) >= 2 and control.n and arm.n:
                table = [[arm.counts.get(o, 0) for o in options], [control.counts.get(o, 0) for o in options]]
                r = stats.chi2_contingency(table, correction=False)
                c.chi_square = (float(r.statistic), float(r.pvalue), int(r.dof))
                total = sum(map(sum, table))
                c.cramers_v = math.sqrt(float(r.statistic) / (total * (min(2, len(options)) - 1)))
                for option in options:
                    c.share_differences[option] = _share_difference(arm, control, option)
            else:
                c.notes.append("every answer in both arms is the same option")
        else:
            c.notes.append(f"{control.kind} polls are not compared")
    return c


def hedges_g(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Cohen's d (difference of means over the pooled SD) times the small-sample correction
    1 − 3 / (4 (n₁ + n₂) − 9)."""
    nx, ny = len(x), len(y)
    if nx < 2 or ny < 2:
        return None
    pooled = ((nx - 1) * statistics.variance(x) + (ny - 1) * statistics.variance(y)) / (nx + ny - 2)
    if pooled <= 0:
        return None
    d = (statistics.fmean(x) - statistics.fmean(y)) / math.sqrt(pooled)
    return d * (1 - 3 / (4 * (nx + ny) - 9))


def _g_vectorised(a: Any, b: Any, axis: int) -> Any:
    import numpy as np

    nx, ny = a.shape[axis], b.shape[axis]
    pooled = ((nx - 1) * np.var(a, ddof=1, axis=axis) + (ny - 1) * np.var(b, ddof=1, axis=axis)) / (nx + ny - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (np.mean(a, axis=axis) - np.mean(b, axis=axis)) / np.sqrt(pooled)
    return d * (1 - 3 / (4 * (nx + ny) - 9))


def _share_difference(arm: PollResult, control: PollResult, option: str) -> Interval:
    """Share choosing ``option`` in the arm minus in the control, with a seeded bootstrap CI."""
    import numpy as np
    from scipy import stats

    a = np.array([1.0 if option in ans.choices else 0.0 for ans in arm.answers])
    b = np.array([1.0 if option in ans.choices else 0.0 for ans in control.answers])
    estimate = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Interval(estimate, None, None)
    boot = stats.bootstrap(
        (a, b),
        lambda u, v, axis=-1: np.mean(u, axis=axis) - np.mean(v, axis=axis),
        n_resamples=BOOTSTRAP_RESAMPLES,
        vectorized=True,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return Interval(estimate, float(boot.confidence_interval.low), float(boot.confidence_interval.high))


def _size_word(g: float) -> str:
    return "negligible" if g < 0.2 else "small" if g < 0.5 else "medium" if g < 0.8 else "large"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def render_markdown(arms: dict[str, list[str]], comparisons: list[ArmComparison], caveat: str) -> str:
    """``ab.md``: who sat in which arm, then one line per poll and arm."""
    lines = ["# A/B study: arms compared", ""]
    for name, people in arms.items():
        lines.append(f"- **{name}**: {len(people)} personas ({', '.join(people)})")
    lines += ["", "| poll | comparison |", "|---|---|"]
    for c in comparisons:
        lines.append(f"| {c.poll_id} | {c.summary().replace('|', '/')} |")
    lines += [
        "",
        "Difference of means with Welch's 95 % CI; Hedges' g (about 0.2 small, 0.5 medium, 0.8 large) with a "
        "seeded bootstrap 95 % CI; for choices, χ², Cramér's V (0 = no association, 1 = complete) and the "
        "largest change in an option's share in percentage points. A CI that excludes 0 is evidence of a "
        "difference between the arms.",
        "",
        f"> {caveat}",
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "ArmComparison",
    "Interval",
    "assign_arms",
    "compare_arms",
    "hedges_g",
    "parse_arm",
    "render_markdown",
    "stratum",
]
