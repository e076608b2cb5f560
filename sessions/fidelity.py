"""Does a simulated panel answer like the people it stands for — in the whole distribution?

Why: simulated panels are known to get the average right and the people wrong. In
TinyTroupe's bottled-gazpacho study, 50 people answered a 1–5 purchase-intent question with a
wide spread (SD about 1.4, more than a third of answers at the two ends of the scale); the
simulated panels had the same mean within 0.1, about half the spread and 0–4 % extreme
answers, and a comparison of means called it a match. This module compares two sets of scale
answers on four aspects, each with scipy's tests, and words a verdict per aspect:

* **centre** — the difference of means with Welch's t-test (unequal variances);
* **spread** — the ratio of standard deviations (simulated ÷ human) with a seeded bootstrap
  95 % CI, and the Brown–Forsythe test of equal spread (Levene's test around the median);
* **extremes** — the share of answers at the two ends of the scale, side by side, with
  Fisher's exact test of the 2 × 2 table (at an end / not);
* **shape** — Cramér–von Mises for ordinal scales (Kolmogorov–Smirnov for continuous
  answers), a chi-square test with sparse cells merged into their neighbours, and the
  Wasserstein distance in scale points (how far, on average, answers would have to move).

:func:`assess` returns a :class:`Fidelity`; its :meth:`Fidelity.verdicts` lead with the worst
aspect: ``variance collapse: simulated SD is 0.50× the human SD …; 0 % vs 36 % extreme answers``.
Pure computation on lists of numbers: reading files lives in :mod:`.human_validation`.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ALPHA = 0.05
"""Below this p-value a test counts as evidence of a difference."""
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 12
"""The bootstrap CI is seeded: the same answers always give the same interval."""
COLLAPSE_RATIO = 0.75
"""A simulated SD below this fraction of the human SD is a collapse (when the tests agree)."""
INFLATED_RATIO = 1 / COLLAPSE_RATIO
EXTREME_GAP = 0.10
"""A difference of 10 percentage points in extreme answers is worth a reader's attention."""
SHAPE_GAP = 0.25
"""A Wasserstein distance of a quarter of a scale point or more is worth a reader's attention."""
MIN_EXPECTED = 5.0
"""Chi-square cells are merged with their neighbours until each expected count reaches this."""

ASPECTS = ("centre", "spread", "extremes", "shape")
SEVERITY_WORDS = {0: "ok", 1: "watch", 2: "problem"}


@dataclass(frozen=True, slots=True)
class Scale:
    """The answers' scale: its two ends, and its points when it is ordinal (Likert, 1–10)."""

    low: float
    high: float
    ordinal: bool = True

    @property
    def points(self) -> list[float]:
        if not self.ordinal:
            return []
        return [float(v) for v in range(int(self.low), int(self.high) + 1)]

    def describe(self) -> str:
        return f"{_pt(self.low)}–{_pt(self.high)}" + ("" if self.ordinal else " (continuous)")


@dataclass(frozen=True, slots=True)
class Test:
    """One test's statistic and p-value (``df`` where it has one)."""

    name: str
    statistic: float
    p: float
    df: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"test": self.name, "statistic": self.statistic, "p": self.p, "df": self.df}


@dataclass(frozen=True, slots=True)
class Aspect:
    """A verdict on one aspect: 0 ok, 1 worth watching, 2 a problem; and its sentence."""

    name: str
    severity: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"aspect": self.name, "severity": SEVERITY_WORDS[self.severity], "verdict": self.text}


@dataclass(slots=True)
class Fidelity:
    """Two sets of answers on one scale compared on centre, spread, extremes and shape."""

    simulated: list[float]
    human: list[float]
    scale: Scale | None
    mean_simulated: float | None = None
    mean_human: float | None = None
    sd_simulated: float | None = None
    sd_human: float | None = None
    welch: Test | None = None
    sd_ratio: float | None = None
    sd_ratio_ci: tuple[float, float] | None = None
    brown_forsythe: Test | None = None
    low_share: tuple[float, float] | None = None
    """(simulated, human) share of answers at the bottom of the scale."""
    high_share: tuple[float, float] | None = None
    extreme_share: tuple[float, float] | None = None
    """(simulated, human) share at either end."""
    fisher: Test | None = None
    """Fisher's exact test of answers at either end; ``fisher_low``/``fisher_high`` each end alone."""
    fisher_low: Test | None = None
    fisher_high: Test | None = None
    ks: Test | None = None
    """Kolmogorov–Smirnov (continuous answers) or Cramér–von Mises (ordinal), see ``ks.name``."""
    chi_square: Test | None = None
    chi_square_bins: list[str] = field(default_factory=list)
    """The scale points each chi-square cell holds after merging (``"1–2"``, ``"3"``…)."""
    wasserstein: float | None = None
    notes: list[str] = field(default_factory=list)
    aspects: list[Aspect] = field(default_factory=list)

    def verdicts(self) -> list[str]:
        """One sentence per aspect, the worst first (ties in the order centre, spread, extremes, shape)."""
        return [a.text for a in self.ranked()]

    def ranked(self) -> list[Aspect]:
        return sorted(self.aspects, key=lambda a: (-a.severity, ASPECTS.index(a.name)))

    def headline(self) -> str:
        ranked = self.ranked()
        return ranked[0].text if ranked else "not enough answers to compare"

    def aspect(self, name: str) -> Aspect | None:
        return next((a for a in self.aspects if a.name == name), None)

    def to_json(self) -> dict[str, Any]:
        def pair(p: tuple[float, float] | None) -> dict[str, float] | None:
            return None if p is None else {"simulated": p[0], "human": p[1]}

        return {
            "scale": None
            if self.scale is None
            else {"low": self.scale.low, "high": self.scale.high, "ordinal": self.scale.ordinal},
            "n": {"simulated": len(self.simulated), "human": len(self.human)},
            "mean": {"simulated": self.mean_simulated, "human": self.mean_human},
            "sd": {"simulated": self.sd_simulated, "human": self.sd_human},
            "centre": {"welch_t": self.welch.to_json() if self.welch else None},
            "spread": {
                "sd_ratio": self.sd_ratio,
                "sd_ratio_ci95": list(self.sd_ratio_ci) if self.sd_ratio_ci else None,
                "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "method": "percentile"},
                "brown_forsythe": self.brown_forsythe.to_json() if self.brown_forsythe else None,
            },
            "extremes": {
                "low_share": pair(self.low_share),
                "high_share": pair(self.high_share),
                "extreme_share": pair(self.extreme_share),
                "fisher_exact": self.fisher.to_json() if self.fisher else None,
                "fisher_exact_low": self.fisher_low.to_json() if self.fisher_low else None,
                "fisher_exact_high": self.fisher_high.to_json() if self.fisher_high else None,
            },
            "shape": {
                "distribution_test": self.ks.to_json() if self.ks else None,
                "chi_square": self.chi_square.to_json() if self.chi_square else None,
                "chi_square_bins": self.chi_square_bins,
                "wasserstein": self.wasserstein,
            },
            "aspects": [a.to_json() for a in self.ranked()],
            "headline": self.headline(),
            "notes": self.notes,
        }

    def markdown_rows(self) -> list[str]:
        """Bullet lines for a report: one per figure, in aspect order."""
        lines: list[str] = []
        if self.mean_simulated is not None and self.mean_human is not None:
            welch = f" (Welch {format_p(self.welch.p)})" if self.welch else ""
            lines.append(
                f"- centre: mean {self.mean_simulated:.2f} vs {self.mean_human:.2f}, "
                f"difference {self.mean_simulated - self.mean_human:+.2f} scale points{welch}"
            )
        if self.sd_ratio is not None:
            ci = f", 95 % CI {self.sd_ratio_ci[0]:.2f}–{self.sd_ratio_ci[1]:.2f}" if self.sd_ratio_ci else ""
            bf = f", Brown–Forsythe {format_p(self.brown_forsythe.p)}" if self.brown_forsythe else ""
            lines.append(
                f"- spread: SD {format_num(self.sd_simulated)} vs {format_num(self.sd_human)}, ratio {self.sd_ratio:.2f}×{ci}{bf}"
            )
        if self.extreme_share is not None and self.low_share and self.high_share and self.scale:
            fisher = f", Fisher {format_p(self.fisher.p)}" if self.fisher else ""
            lines.append(
                (
                    f"- extremes: {self.extreme_share[0]:.0%} vs {self.extreme_share[1]:.0%} at the ends "
                    f"({_pt(self.scale.low)}: {self.low_share[0]:.0%} vs {self.low_share[1]:.0%}; "
                    f"{_pt(self.scale.high)}: {self.high_share[0]:.0%} vs {self.high_share[1]:.0%}){fisher}"
                ).replace("%", " %")
            )
        parts: list[str] = []
        if self.wasserstein is not None:
            parts.append(f"Wasserstein distance {self.wasserstein:.2f} scale points")
        if self.ks is not None:
            parts.append(f"{_TEST_NAMES[self.ks.name]} {format_p(self.ks.p)}")
        if self.chi_square is not None:
            bins = f" over {len(self.chi_square_bins)} cells ({', '.join(self.chi_square_bins)})"
            parts.append(f"chi-square {format_p(self.chi_square.p)}{bins}")
        if parts:
            lines.append("- shape: " + "; ".join(parts))
        return lines


_TEST_NAMES = {"cramer_von_mises": "Cramér–von Mises", "kolmogorov_smirnov": "Kolmogorov–Smirnov"}


def assess(
    simulated: Sequence[float], human: Sequence[float], scale: Scale | None, *, seed: int = BOOTSTRAP_SEED
) -> Fidelity:
    """Every figure and the four verdicts. Needs two answers on each side for most figures;
    what cannot be computed is left ``None`` with a note."""
    from scipy import stats

    x, y = [float(v) for v in simulated], [float(v) for v in human]
    f = Fidelity(x, y, scale)
    if not x or not y:
        f.notes.append("no answers on one side")
        return f
    f.mean_simulated, f.mean_human = statistics.fmean(x), statistics.fmean(y)
    if len(x) >= 2 and len(y) >= 2:
        f.sd_simulated, f.sd_human = statistics.stdev(x), statistics.stdev(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant samples: the cases are checked here
        _centre(f, stats)
        _spread(f, stats, seed)
        _extremes(f, stats)
        _shape(f, stats, seed)
    f.aspects = [a for a in (_centre_verdict(f), _spread_verdict(f), _extremes_verdict(f), _shape_verdict(f)) if a]
    return f


# -- figures ------------------------------------------------------------------------------------


def _centre(f: Fidelity, stats: Any) -> None:
    x, y = f.simulated, f.human
    if len(x) < 2 or len(y) < 2:
        f.notes.append("Welch's t-test needs two answers on each side")
    elif statistics.pvariance(x) == 0 and statistics.pvariance(y) == 0:
        f.notes.append("Welch's t-test is undefined: every answer on each side is the same")
    else:
        r = stats.ttest_ind(x, y, equal_var=False)
        f.welch = Test("welch_t", float(r.statistic), float(r.pvalue), finite(getattr(r, "df", None)))


def _spread(f: Fidelity, stats: Any, seed: int) -> None:
    import numpy as np

    x, y = f.simulated, f.human
    if f.sd_simulated is None or not f.sd_human:
        if f.sd_human == 0:
            f.notes.append("the SD ratio is undefined: every human answer is the same")
        return
    f.sd_ratio = f.sd_simulated / f.sd_human
    if statistics.pvariance(x) or statistics.pvariance(y):
        r = stats.levene(x, y, center="median")
        if math.isfinite(r.pvalue):
            f.brown_forsythe = Test("brown_forsythe", float(r.statistic), float(r.pvalue))

    def ratio(a: Any, b: Any, axis: int = -1) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.std(a, ddof=1, axis=axis) / np.std(b, ddof=1, axis=axis)

    result = stats.bootstrap(
        (np.asarray(x), np.asarray(y)),
        ratio,
        n_resamples=BOOTSTRAP_RESAMPLES,
        vectorized=True,
        paired=False,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    lo, hi = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if math.isfinite(lo) and math.isfinite(hi):
        f.sd_ratio_ci = (lo, hi)
    else:
        f.notes.append("the SD ratio's bootstrap CI is undefined (resamples where every human answer is the same)")


def _extremes(f: Fidelity, stats: Any) -> None:
    scale = f.scale
    if scale is None:
        f.notes.append("extremes left out: the scale's ends are not known (give --scale LO-HI)")
        return
    x, y = f.simulated, f.human
    low = (_share(x, scale.low), _share(y, scale.low))
    high = (_share(x, scale.high), _share(y, scale.high))
    f.low_share, f.high_share = low, high
    f.extreme_share = (low[0] + high[0], low[1] + high[1])

    def fisher(points: tuple[float, ...]) -> Test:
        ex = sum(1 for v in x if v in points)
        ey = sum(1 for v in y if v in points)
        r = stats.fisher_exact([[ex, len(x) - ex], [ey, len(y) - ey]])
        return Test("fisher_exact", float(r.statistic), float(r.pvalue))

    f.fisher = fisher((scale.low, scale.high))
    f.fisher_low, f.fisher_high = fisher((scale.low,)), fisher((scale.high,))


def _shape(f: Fidelity, stats: Any, seed: int = BOOTSTRAP_SEED) -> None:
    x, y = f.simulated, f.human
    f.wasserstein = float(stats.wasserstein_distance(x, y))
    ordinal = f.scale is not None and f.scale.ordinal
    if len(x) >= 2 and len(y) >= 2:
        if ordinal:
            f.ks = cramer_von_mises(x, y, seed=seed)
        else:
            r = stats.ks_2samp(x, y)
            f.ks = Test("kolmogorov_smirnov", float(r.statistic), float(r.pvalue))
    if ordinal and f.scale is not None:
        chi = merged_chi_square(x, y, f.scale.points)
        if chi is None:
            f.notes.append("chi-square left out: too few answers to make two cells with expected counts of 5")
        else:
            f.chi_square, f.chi_square_bins = chi


def cramer_von_mises(x: Sequence[float], y: Sequence[float], *, seed: int = BOOTSTRAP_SEED) -> Test:
    """The two-sample Cramér–von Mises statistic with a seeded permutation p-value.

    The statistic is n·m/(n+m)² · Σ (F(z) − G(z))² over every pooled answer z (F, G the two
    empirical distribution functions), which handles tied answers correctly; its p-value comes
    from :data:`BOOTSTRAP_RESAMPLES` random relabellings of the pooled answers (scipy's
    ``permutation_test``), which stays valid on a 5-point scale where nearly every answer is
    tied — unlike the rank-based formula of ``cramervonmises_2samp``, which assumes no ties."""
    import numpy as np
    from scipy import stats

    def statistic(a: Any, b: Any) -> float:
        pooled = np.concatenate([a, b])
        f_a = np.searchsorted(np.sort(a), pooled, side="right") / len(a)
        f_b = np.searchsorted(np.sort(b), pooled, side="right") / len(b)
        n, m = len(a), len(b)
        return float(n * m / (n + m) ** 2 * np.sum((f_a - f_b) ** 2))

    r = stats.permutation_test(
        (np.asarray(x, dtype=float), np.asarray(y, dtype=float)),
        statistic,
        permutation_type="independent",
        n_resamples=BOOTSTRAP_RESAMPLES,
        alternative="greater",
        vectorized=False,
        rng=np.random.default_rng(seed),
    )
    return Test("cramer_von_mises", float(r.statistic), float(r.pvalue))


def merged_chi_square(x: Sequence[float], y: Sequence[float], points: Sequence[float]) -> tuple[Test, list[str]] | None:
    """Chi-square test of the 2 × k table of answers per scale point, adjacent points merged
    until every expected count is at least :data:`MIN_EXPECTED` (the usual rule for the test's
    p-value to hold). None when fewer than two cells remain."""
    from scipy import stats

    nx, ny = len(x), len(y)
    total = nx + ny
    if not nx or not ny:
        return None
    columns = [(sum(1 for v in x if v == p), sum(1 for v in y if v == p)) for p in points]
    small = min(nx, ny) / total  # the expected count of a cell is its column total × row share

    bins: list[tuple[list[float], int, int]] = []
    current: list[float] = []
    cx = cy = 0
    for point, (a, b) in zip(points, columns, strict=True):
        current.append(point)
        cx, cy = cx + a, cy + b
        if (cx + cy) * small >= MIN_EXPECTED:
            bins.append((current, cx, cy))
            current, cx, cy = [], 0, 0
    if current and bins:  # the under-filled top end joins the last full cell
        last, lx, ly = bins.pop()
        bins.append((last + current, lx + cx, ly + cy))
    elif current:
        bins.append((current, cx, cy))
    if len(bins) < 2:
        return None
    table = [[b[1] for b in bins], [b[2] for b in bins]]
    r = stats.chi2_contingency(table, correction=False)
    labels = [_pt(b[0][0]) if len(b[0]) == 1 else f"{_pt(b[0][0])}–{_pt(b[0][-1])}" for b in bins]
    return Test("chi_square", float(r.statistic), float(r.pvalue), float(r.dof)), labels


# -- verdicts -----------------------------------------------------------------------------------


def _centre_verdict(f: Fidelity) -> Aspect | None:
    if f.mean_simulated is None or f.mean_human is None:
        return None
    diff = f.mean_simulated - f.mean_human
    means = f"mean {f.mean_simulated:.2f} vs {f.mean_human:.2f}"
    p = f.welch.p if f.welch else None
    shown = f", Welch {format_p(p)}" if p is not None else ""
    standard = abs(diff) / f.sd_human if f.sd_human else (math.inf if diff else 0.0)
    if p is not None and p < ALPHA and diff:
        word = "higher" if diff > 0 else "lower"
        severity = 2 if standard >= 0.5 else 1
        return Aspect("centre", severity, f"centre shifted: simulated answers are {word} ({means}, {diff:+.2f}{shown})")
    if p is None and diff:
        return Aspect("centre", 1, f"centre cannot be tested ({means})")
    return Aspect("centre", 0, f"centre matches: {means} ({diff:+.2f}{shown})")


def _extremes_phrase(f: Fidelity) -> str:
    if f.extreme_share is None:
        return ""
    return f"{f.extreme_share[0]:.0%} vs {f.extreme_share[1]:.0%} extreme answers".replace("%", " %")


def _spread_verdict(f: Fidelity) -> Aspect | None:
    if f.sd_ratio is None:
        return None
    r = f.sd_ratio
    ci = f"95 % CI {f.sd_ratio_ci[0]:.2f}–{f.sd_ratio_ci[1]:.2f}" if f.sd_ratio_ci else "no CI"
    bf = f"; Brown–Forsythe {format_p(f.brown_forsythe.p)}" if f.brown_forsythe else ""
    detail = f"({ci}{bf})"
    ratio = f"simulated SD is {r:.2f}× the human SD ({format_num(f.sd_simulated)} vs {format_num(f.sd_human)})"
    significant = (f.brown_forsythe is not None and f.brown_forsythe.p < ALPHA) or (
        f.sd_ratio_ci is not None and (f.sd_ratio_ci[1] < 1 or f.sd_ratio_ci[0] > 1)
    )
    extremes = _extremes_phrase(f)
    tail = f"; {extremes}" if extremes else ""
    if r < COLLAPSE_RATIO:
        if significant:
            return Aspect("spread", 2, f"variance collapse: {ratio}{tail} {detail}")
        return Aspect("spread", 1, f"possible variance collapse (not significant): {ratio}{tail} {detail}")
    if r > INFLATED_RATIO:
        if significant:
            return Aspect("spread", 2, f"spread inflated: {ratio}{tail} {detail}")
        return Aspect("spread", 1, f"possibly more spread than people (not significant): {ratio} {detail}")
    if significant:
        return Aspect("spread", 1, f"spread differs a little: {ratio} {detail}")
    return Aspect("spread", 0, f"spread matches: {ratio} {detail}")


def _extremes_verdict(f: Fidelity) -> Aspect | None:
    if f.extreme_share is None or f.low_share is None or f.high_share is None or f.scale is None:
        return None
    s, h = f.extreme_share
    ends = (
        f"{_pt(f.scale.low)}: {f.low_share[0]:.0%} vs {f.low_share[1]:.0%}, "
        f"{_pt(f.scale.high)}: {f.high_share[0]:.0%} vs {f.high_share[1]:.0%}"
    ).replace("%", " %")
    fisher = f"; Fisher {format_p(f.fisher.p)}" if f.fisher else ""
    shares = f"{s:.0%} vs {h:.0%} of answers at the ends of the scale".replace("%", " %")
    gap = abs(s - h)
    significant = f.fisher is not None and f.fisher.p < ALPHA
    if s != h and (significant or gap >= EXTREME_GAP):
        word = "too few" if s < h else "too many"
        severity = 2 if significant and gap >= EXTREME_GAP else 1
        return Aspect("extremes", severity, f"{word} extreme answers: {shares} ({ends}{fisher})")
    # Both ends together can match while each end is off (the panel's extremes at the wrong end).
    ends_off = [
        (share, test)
        for share, test in ((f.low_share, f.fisher_low), (f.high_share, f.fisher_high))
        if abs(share[0] - share[1]) >= EXTREME_GAP
    ]
    if ends_off:
        tests = "; ".join(f"Fisher {format_p(t.p)}" for _, t in ends_off if t is not None)
        severity = 2 if any(t is not None and t.p < ALPHA for _, t in ends_off) else 1
        return Aspect("extremes", severity, f"extreme answers at the wrong end: {shares}, but {ends} ({tests})")
    return Aspect("extremes", 0, f"extremes match: {shares} ({ends}{fisher})")


def _shape_verdict(f: Fidelity) -> Aspect | None:
    if f.wasserstein is None:
        return None
    tests = [t for t in (f.ks, f.chi_square) if t is not None]
    shown = "; ".join(f"{_TEST_NAMES.get(t.name, 'chi-square')} {format_p(t.p)}" for t in tests)
    what = f"Wasserstein distance {f.wasserstein:.2f} scale points" + (f"; {shown}" if shown else "")
    significant = any(t.p < ALPHA for t in tests)
    if significant and f.wasserstein >= SHAPE_GAP:
        return Aspect("shape", 2, f"distributions differ in shape ({what})")
    if significant or f.wasserstein >= SHAPE_GAP:
        return Aspect("shape", 1, f"distributions differ somewhat ({what})")
    return Aspect("shape", 0, f"shapes match ({what})")


# -- helpers ------------------------------------------------------------------------------------


def format_p(p: float) -> str:
    """``p = 0.003``; ``p < 0.001`` below that."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _share(values: Sequence[float], point: float) -> float:
    return sum(1 for v in values if v == point) / len(values) if values else 0.0


def _pt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def format_num(x: float | None) -> str:
    """Two decimals, or an em dash for a figure that does not exist."""
    return "—" if x is None else f"{x:.2f}"


def finite(x: Any) -> float | None:
    """``x`` as a finite float, or None (a NaN or an infinity from a degenerate test)."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


__all__ = [
    "ALPHA",
    "Aspect",
    "Fidelity",
    "Scale",
    "Test",
    "assess",
    "cramer_von_mises",
    "format_p",
    "merged_chi_square",
]
