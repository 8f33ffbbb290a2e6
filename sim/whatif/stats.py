"""Statistics over replicate runs: means, 95% confidence intervals (Student t) and Welch's
difference of two means. Pure functions of lists of numbers; non-finite values are the caller's
to drop."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as _st

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    n: int
    mean: float
    sd: float  # sample standard deviation (n - 1); nan for one value
    low: float  # 95% CI; nan below two values
    high: float


@dataclass(frozen=True)
class Difference:
    """b - a with its Welch 95% CI; significant when the CI excludes 0 (p < 0.05)."""

    diff: float
    low: float
    high: float
    p_value: float
    df: float
    significant: bool


def mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs) if len(xs) else math.nan


def sd(xs: Sequence[float]) -> float:
    n = len(xs)
    if n < 2:
        return math.nan
    m = mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (n - 1))


def t_quantile(df: float, level: float = LEVEL) -> float:
    """Two-sided Student t critical value: 2.262 for df = 9 at 95%."""
    return float(_st.t.ppf(0.5 + level / 2, df))


def ci(xs: Sequence[float], level: float = LEVEL) -> Estimate:
    """Mean and its confidence interval mean +- t(n-1) * sd / sqrt(n)."""
    n = len(xs)
    m, s = mean(xs), sd(xs)
    if n < 2:
        return Estimate(n, m, s, math.nan, math.nan)
    h = t_quantile(n - 1, level) * s / math.sqrt(n)
    return Estimate(n, m, s, m - h, m + h)


def clip(e: Estimate, low: float, high: float) -> Estimate:
    """The estimate with its interval held within [low, high]: the mean of values that cannot
    leave that range cannot either, so the part of a t interval beyond it says nothing."""
    if math.isnan(e.low):
        return e
    return Estimate(e.n, e.mean, e.sd, min(max(e.low, low), high), max(min(e.high, high), low))


def welch(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Difference:
    """Difference of means b - a, unequal variances, Welch-Satterthwaite degrees of freedom."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        nan = math.nan
        return Difference(mean(b) - mean(a), nan, nan, nan, nan, False)
    va, vb = sd(a) ** 2 / na, sd(b) ** 2 / nb
    d = mean(b) - mean(a)
    se2 = va + vb
    if se2 == 0:  # no spread at all: the difference is exact
        return Difference(d, d, d, 1.0 if d == 0 else 0.0, math.inf, d != 0)
    df = se2 ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    se = math.sqrt(se2)
    h = t_quantile(df, level) * se
    p = float(2 * _st.t.sf(abs(d) / se, df))
    return Difference(d, d - h, d + h, p, df, bool(p < 1 - level))
