"""Scoring the sightings of a tracks evaluation at any threshold: what was found per ground-truth box and per
labelled box, counted into precision / recall per identity and overall. Pure: no engine, no files.

The records keep each match's distance, so the score at threshold t is the matches with distance < t,
exactly what a run at t gives (assign_unique decides pairs under t before any pair at or above it).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from Algorithm.evaluation.metrics import ratio


@dataclass(frozen=True)
class GtSighting:
    """A ground-truth box of a registered identity: was it found (labelled with its identity), and detected at all?"""

    seq: str
    frame: int
    id: int
    hit_distance: float | None  # the best distance of a box labelled with this identity on it; None: never labelled
    detected: bool  # some detection overlaps it, labelled or not


@dataclass(frozen=True)
class LabelledBox:
    """A box the engine gave to a registered identity, judged against the ground truth."""

    seq: str
    frame: int
    id: int
    distance: float
    state: str  # "tp" | "fp" | "ignore" (registration frame, or on a GT box the filter left out)
    stranger: bool = False  # a false match on an identity held out of the gallery


Record = GtSighting | LabelledBox


@dataclass
class IdentityScore:
    seq: str
    id: int
    sightings: int = 0
    hits: int = 0
    detected: int = 0
    tp: int = 0
    fp: int = 0
    fp_on_strangers: int = 0
    ignored: int = 0

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.hits, self.sightings)

    def to_json(self) -> dict:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


@dataclass(frozen=True)
class SightingScore:
    """Frame-level precision / recall of the sightings (None where there is nothing to divide by)."""

    precision: float | None
    recall: float | None
    f1: float | None
    tp: int
    fp: int
    fn: int
    sightings: int
    hits: int
    detected: int
    detector_recall: float | None  # share of GT boxes any detection covers: the ceiling of the recall
    recall_given_detected: float | None
    fp_on_strangers: int
    ignored: int
    identities: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SweepPoint:
    """The score at one threshold of the sweep."""

    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    tp: int
    fp: int
    fn: int
    fp_on_strangers: int

    @classmethod
    def of(cls, threshold: float, s: SightingScore) -> "SweepPoint":
        return cls(threshold, s.precision, s.recall, s.f1, s.tp, s.fp, s.fn, s.fp_on_strangers)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MacroScore:
    """Mean of the per-sequence rates (each sequence counts once, whatever its size)."""

    precision: float | None
    recall: float | None

    @classmethod
    def of(cls, scores: Sequence[SightingScore]) -> "MacroScore":
        def mean(vals):
            vals = [v for v in vals if v is not None]
            return float(np.mean(vals)) if vals else None

        return cls(mean(s.precision for s in scores), mean(s.recall for s in scores))

    def to_json(self) -> dict:
        return asdict(self)


def score(records: Iterable[Record], t: float) -> tuple[SightingScore, list[IdentityScore]]:
    """The overall score and the per-identity rows (sorted by sequence, then id) at threshold `t`."""
    per: dict[tuple[str, int], IdentityScore] = {}
    for r in records:
        s = per.setdefault((r.seq, r.id), IdentityScore(r.seq, r.id))
        if isinstance(r, GtSighting):
            s.sightings += 1
            s.detected += bool(r.detected)
            s.hits += int(r.hit_distance is not None and r.hit_distance < t)
        elif r.distance < t:
            if r.state == "tp":
                s.tp += 1
            elif r.state == "fp":
                s.fp += 1
            else:
                s.ignored += 1
            s.fp_on_strangers += int(r.stranger)
    rows = sorted(per.values(), key=lambda s: (s.seq, s.id))
    tp, fp = sum(s.tp for s in rows), sum(s.fp for s in rows)
    n, hits, det = sum(s.sightings for s in rows), sum(s.hits for s in rows), sum(s.detected for s in rows)
    p, r = ratio(tp, tp + fp), ratio(hits, n)
    overall = SightingScore(
        precision=p,
        recall=r,
        f1=(2 * p * r / (p + r)) if p is not None and r is not None and p + r > 0 else None,
        tp=tp,
        fp=fp,
        fn=n - hits,
        sightings=n,
        hits=hits,
        detected=det,
        detector_recall=ratio(det, n),
        recall_given_detected=ratio(hits, det),
        fp_on_strangers=sum(s.fp_on_strangers for s in rows),
        ignored=sum(s.ignored for s in rows),
        identities=len({(s.seq, s.id) for s in rows if s.sightings}),
    )
    return overall, rows
