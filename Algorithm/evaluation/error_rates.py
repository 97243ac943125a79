"""Error rates of a threshold on pair distances, the curves against the threshold, the threshold for a target
false-match rate, the equal-error point and distance statistics.

Rule (as in the search): a pair matches at threshold t when its distance (1 - cosine) is < t.
    FMR(t)  = share of impostor pairs with distance < t   (false matches)
    FNMR(t) = share of genuine pairs with distance >= t   (missed matches)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from Algorithm.errors import InputError


def fmr_at(impostor: np.ndarray, t: float) -> float | None:
    imp = np.asarray(impostor)
    return float(np.mean(imp < t)) if len(imp) else None


def fnmr_at(genuine: np.ndarray, t: float) -> float | None:
    gen = np.asarray(genuine)
    return float(np.mean(gen >= t)) if len(gen) else None


@dataclass(frozen=True)
class Rates:
    """FMR and FNMR at one threshold (None for a side without pairs)."""

    fmr: float | None
    fnmr: float | None

    @classmethod
    def at(cls, genuine, impostor, t: float) -> "Rates":
        return cls(fmr_at(impostor, t), fnmr_at(genuine, t))

    def to_json(self) -> dict:
        return {"fmr": self.fmr, "fnmr": self.fnmr}


@dataclass(frozen=True)
class ErrorCurves:
    thresholds: np.ndarray
    fmr: np.ndarray | None  # None without impostor pairs
    fnmr: np.ndarray | None  # None without genuine pairs


def error_curves(genuine, impostor, thresholds=None) -> ErrorCurves:
    """FMR and FNMR at each threshold (default: 0 to 1 by 0.005); None for a side without pairs."""
    t = np.round(np.arange(0.0, 1.0001, 0.005), 4) if thresholds is None else np.asarray(thresholds, np.float64)
    imp, gen = np.sort(np.asarray(impostor, np.float64)), np.sort(np.asarray(genuine, np.float64))
    fmr = np.searchsorted(imp, t, "left") / len(imp) if len(imp) else None
    fnmr = 1.0 - np.searchsorted(gen, t, "left") / len(gen) if len(gen) else None
    return ErrorCurves(t, fmr, fnmr)


@dataclass(frozen=True)
class Suggestion:
    """The threshold suggested for a target false-match rate, with what it gives on the pairs it came from."""

    target_fmr: float
    threshold: float
    fmr: float
    fnmr: float | None  # None without genuine pairs
    impostor_pairs: int
    false_matches_allowed: int
    resolved: bool  # enough impostor pairs to measure the target at all (n * target >= 1)
    reliable: bool  # enough for a stable threshold (n * target >= 10)
    note: str | None = None  # why it is not resolved / not reliable

    def to_json(self, with_note: bool = True) -> dict:
        d = {"target_fmr": self.target_fmr, "threshold": self.threshold, "fmr": self.fmr, "fnmr": self.fnmr,
             "impostor_pairs": self.impostor_pairs, "false_matches_allowed": self.false_matches_allowed,
             "resolved": self.resolved, "reliable": self.reliable}
        if with_note and self.note is not None:
            d["note"] = self.note
        return d


def suggest_threshold(impostor, target_fmr: float, genuine=None) -> Suggestion:
    """The largest threshold whose false-match rate on these impostor pairs is <= target_fmr.

    With impostor distances sorted d(0) <= d(1) <= ..., FMR(t) = #{d < t} / n, so t = d(k) with
    k = floor(target * n) allows at most k false matches; it is rounded DOWN to 3 decimals so the
    printed value keeps the guarantee. With fewer than 1/target pairs the rate cannot be resolved
    (k = 0): the suggestion is then 'no observed false match', and the result says so."""
    if not 0.0 < target_fmr < 1.0:
        raise ValueError("the target false-match rate must be between 0 and 1 (e.g. 0.01 for 1%)")
    imp = np.sort(np.asarray(impostor, np.float64))
    n = len(imp)
    if n == 0:
        raise InputError("No different-identity pairs: at least two identities are needed to calibrate a threshold")
    k = int(math.floor(target_fmr * n + 1e-9))
    raw = float(imp[k]) if k < n else float(imp[-1]) + 1e-3
    t = math.floor(raw * 1000) / 1000
    resolved, reliable = n * target_fmr >= 1.0, n * target_fmr >= 10.0
    note = None
    if not resolved:
        note = (f"{n} different-identity pairs are too few for a {target_fmr:g} false-match rate: it needs at least "
                f"{math.ceil(1 / target_fmr)} to be measured; the suggestion is the smallest impostor distance "
                "(no false match observed), which is optimistic")
    elif not reliable:
        note = (f"{n} different-identity pairs allow only {k} false match(es) at this target: the threshold "
                f"is rough; {math.ceil(10 / target_fmr)}+ pairs give a stable one")
    return Suggestion(target_fmr, t, fmr_at(imp, t), fnmr_at(genuine, t) if genuine is not None else None,
                      n, k, resolved, reliable, note)


@dataclass(frozen=True)
class EqualError:
    threshold: float  # where FMR and FNMR cross
    rate: float

    def to_json(self) -> dict:
        return {"threshold": self.threshold, "rate": self.rate}


def equal_error(genuine, impostor) -> EqualError | None:
    """Threshold where FMR and FNMR cross, and that rate (None without both kinds of pairs)."""
    gen, imp = np.asarray(genuine, np.float64), np.asarray(impostor, np.float64)
    if not len(gen) or not len(imp):
        return None
    cand = np.unique(np.concatenate([gen, imp, [0.0, 2.0]]))
    c = error_curves(gen, imp, cand)
    i = int(np.argmin(np.abs(c.fmr - c.fnmr)))
    return EqualError(float(cand[i]), float((c.fmr[i] + c.fnmr[i]) / 2))


@dataclass(frozen=True)
class DistanceStats:
    """Count, mean, extremes and percentiles of a set of distances (only the count when it is empty)."""

    n: int
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    percentiles: tuple[tuple[float, float], ...] = ()  # (percent, value): (50, median), (0.1, 0.1st percentile) ...

    @classmethod
    def of(cls, d: np.ndarray, percents: tuple[float, ...]) -> "DistanceStats":
        if not len(d):
            return cls(0)
        return cls(int(len(d)), float(np.mean(d)), float(np.min(d)), float(np.max(d)),
                   tuple((p, float(np.quantile(d, p / 100))) for p in percents))

    def percentile(self, p: float) -> float:
        """The value below which `p` percent of the distances lie (one of the percentiles computed)."""
        for q, v in self.percentiles:
            if math.isclose(q, p):
                return v
        raise KeyError(f"percentile {p:g} was not computed (have {[q for q, _ in self.percentiles]})")

    def to_json(self) -> dict:
        if not self.n:
            return {"n": 0}
        return {"n": self.n, "mean": self.mean, "min": self.min, "max": self.max,
                **{f"p{p:g}": v for p, v in self.percentiles}}
