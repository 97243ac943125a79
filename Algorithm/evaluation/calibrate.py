"""What threshold should I use? One calibration: the pair distances of a labelled folder or of a gallery, the
threshold suggested for a target false-match rate with what it costs in missed matches, and saving the
chosen threshold into the user's model config. (The picture is plots.calibration_figure.)

Rule (as in the search): a pair matches at threshold t when its distance (1 - cosine) is < t.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from Algorithm.errors import InputError
from Algorithm.evaluation.datasets import Cancel, Extractor, GtFilter, Progress, crop_set, embed_crops
from Algorithm.evaluation.error_rates import DistanceStats, EqualError, Rates, Suggestion, equal_error, suggest_threshold
from Algorithm.evaluation.pairs import Pairs, pair_distances
from Algorithm.models import registry
from Algorithm.rules import THRESHOLD_RANGE

FORMAT = "reid-app-calibration"
RULE = "a pair matches when distance (1 - cosine) < threshold"
OTHER_TARGETS = (0.001, 0.01, 0.05)  # also reported beside the asked target
# No threshold is suggested (nor saved) from fewer same-identity pairs than this. The suggestion itself reads the
# different-identity pairs, but what it costs (the missed-match rate) is read off the same-identity ones: with one
# pair a single photo decides it, and with none the cost is unknown, yet both looked like a real answer (a user got
# 0.615 from one pair and 0.610 from none). Ten pairs (e.g. five photos of one person, or two photos each of ten
# people) give the missed-match rate in steps of 10%: rough, but enough to see whether a threshold is usable.
MIN_GENUINE_PAIRS = 10


@dataclass
class Calibration:
    """The pairs of one source and everything read off them for `target_fmr`; `to_json()` is what
    `calibrate --out` writes. `with_target` gives the same pairs read for another target (cheap)."""

    pairs: Pairs
    source: str
    target_fmr: float
    current_threshold: float | None = None
    model: str = ""
    category: str = "person"
    source_notes: list[str] = field(default_factory=list)  # what the source adds (data caveats)
    identities_with_several_photos: int | None = None  # gallery calibrations only
    # How many identities a stranger is compared with (the gallery's, for the open-set suggestion; None: not known)
    gallery_identities: int | None = None
    # read off the pairs:
    suggested: Suggestion | None = field(init=False)  # None without impostor pairs
    open_set: Suggestion | None = field(init=False)  # the per-pair rate that keeps strangers under target_fmr
    at_current: Rates | None = field(init=False)  # None without a current threshold
    other_targets: list[Suggestion] = field(init=False)
    equal_error: EqualError | None = field(init=False)
    genuine_distance: DistanceStats = field(init=False)
    impostor_distance: DistanceStats = field(init=False)

    def __post_init__(self):
        p, cur = self.pairs, self.current_threshold
        # enough pairs of both kinds to suggest anything (see MIN_GENUINE_PAIRS); else `refusal` says why not
        has_imp = len(p.impostor) > 0 and len(p.genuine) >= MIN_GENUINE_PAIRS
        self.suggested = suggest_threshold(p.impostor, self.target_fmr, p.genuine) if has_imp else None
        self.open_set = None
        if has_imp and self.gallery_identities:
            self.open_set = suggest_threshold(p.impostor, open_set_pair_rate(self.target_fmr, self.gallery_identities),
                                              p.genuine)
        self.at_current = None if cur is None else Rates.at(p.genuine, p.impostor, cur)
        self.other_targets = [suggest_threshold(p.impostor, t, p.genuine) for t in OTHER_TARGETS] if has_imp else []
        self.equal_error = equal_error(p.genuine, p.impostor)
        self.genuine_distance = DistanceStats.of(p.genuine, (50, 95, 99))
        self.impostor_distance = DistanceStats.of(p.impostor, (0.1, 1, 5, 50))

    @property
    def images(self) -> int:
        return self.pairs.n_images

    @property
    def identities(self) -> int:
        return self.pairs.n_identities

    @property
    def genuine_pairs(self) -> int:
        return int(len(self.pairs.genuine))

    @property
    def impostor_pairs(self) -> int:
        return int(len(self.pairs.impostor))

    @property
    def impostor_pairs_total(self) -> int:
        return self.pairs.impostor_total

    @property
    def suggested_threshold(self) -> float | None:
        return None if self.suggested is None else self.suggested.threshold

    @property
    def refusal(self) -> str | None:
        """Why no threshold is suggested (too few pairs of a kind), in words; None when there is a suggestion."""
        n = self.genuine_pairs
        if n < MIN_GENUINE_PAIRS:
            have = "No same-identity pairs" if n == 0 else f"Only {n} same-identity pair{'' if n == 1 else 's'}"
            return (f"{have}: at least {MIN_GENUINE_PAIRS} are needed to suggest a threshold (they measure the "
                    "matches it would miss). Add more photos of the same people (or use more footage), then compute again.")
        if not self.impostor_pairs:
            return "No different-identity pairs: photos of at least two identities are needed to suggest a threshold."
        return None

    @property
    def recommended_threshold(self) -> float | None:
        """The threshold to use: the per-pair suggestion, or the open-set one when it is stricter and measurable
        (a stranger meets every registered identity, with several views, so per-pair rates add up)."""
        if self.suggested is None:
            return None
        if self.open_set is not None and self.open_set.resolved:
            return min(self.suggested.threshold, self.open_set.threshold)
        return self.suggested.threshold

    @property
    def notes(self) -> list[str]:
        notes = list(self.pairs.notes)
        if not len(self.pairs.genuine):
            notes.append("No same-identity pairs: the missed-match rate cannot be measured")
        if self.suggested and self.suggested.note:
            notes.append(self.suggested.note)
        return notes + list(self.source_notes)

    def with_gallery(self, identities: int) -> "Calibration":
        """The same pairs, with the open-set suggestion for a gallery of `identities`."""
        return Calibration(self.pairs, self.source, self.target_fmr, self.current_threshold, self.model, self.category,
                           list(self.source_notes), self.identities_with_several_photos, identities)

    def with_target(self, target_fmr: float) -> "Calibration":
        """The same pairs, the suggestion for another target false-match rate (cheap: no re-embedding)."""
        return Calibration(self.pairs, self.source, target_fmr, self.current_threshold, self.model, self.category,
                           list(self.source_notes), self.identities_with_several_photos, self.gallery_identities)

    def to_json(self) -> dict:
        out = {
            "format": FORMAT,
            "version": 1,
            "source": self.source,
            "model": self.model,
            "category": self.category,
            "rule": RULE,
            "images": self.images,
            "identities": self.identities,
            "genuine_pairs": self.genuine_pairs,
            "impostor_pairs": self.impostor_pairs,
            "impostor_pairs_total": self.impostor_pairs_total,
            "target_fmr": self.target_fmr,
            "suggested": None if self.suggested is None else self.suggested.to_json(),
            "gallery_identities": self.gallery_identities,
            "open_set": None if self.open_set is None else self.open_set.to_json(),
            "open_set_views_per_identity": VIEWS_PER_TRACK,
            "recommended_threshold": self.recommended_threshold,
            "min_genuine_pairs": MIN_GENUINE_PAIRS,
            "refusal": self.refusal,
            "current_threshold": self.current_threshold,
            "at_current": None if self.at_current is None else self.at_current.to_json(),
            "other_targets": [s.to_json(with_note=False) for s in self.other_targets],
            "equal_error": None if self.equal_error is None else self.equal_error.to_json(),
            "genuine_distance": self.genuine_distance.to_json(),
            "impostor_distance": self.impostor_distance.to_json(),
            "notes": self.notes,
        }
        if self.identities_with_several_photos is not None:
            out["identities_with_several_photos"] = self.identities_with_several_photos
        return out


# A track is searched with its aggregate feature and each of its kept crops (pipeline.track_cache: keep_best 3),
# and matches an identity by the closest: one stranger's track makes about this many comparisons per identity.
VIEWS_PER_TRACK = 4


def open_set_pair_rate(stranger_rate: float, identities: int, views: int = VIEWS_PER_TRACK) -> float:
    """The per-pair false-match rate that keeps the share of strangers matched to someone at `stranger_rate`,
    when a stranger is compared with `identities` identities through `views` views each (taken as independent
    comparisons: an approximation, close for small rates)."""
    n = max(1, int(identities)) * max(1, int(views))
    return 1.0 - (1.0 - stranger_rate) ** (1.0 / n)


def calibrate_features(feats, pids, cams=None, groups=None, *, source: str, target_fmr: float = 0.01,
                       current_threshold: float | None = None, model: str = "", category: str = "person",
                       exclude_same_cam: bool = True, notes: Sequence[str] = (),
                       identities_with_several_photos: int | None = None,
                       gallery_identities: int | None = None) -> Calibration:
    """A calibration from features with their identities (and cameras / groups, see pairs.pair_distances)."""
    pairs = pair_distances(feats, pids, cams, groups, exclude_same_cam=exclude_same_cam)
    return Calibration(pairs, source, target_fmr, current_threshold, model, category, list(notes),
                       identities_with_several_photos, gallery_identities)


def calibrate_folder(folder: str | Path, extractor: Extractor, target_fmr: float = 0.01, current_threshold: float | None = None,
                     model: str = "", category: str = "person", flt: GtFilter | None = None,
                     progress: Progress | None = None, gallery_identities: int | None = None,
                     cancel: Cancel | None = None) -> Calibration:
    """From an evaluation folder: Market-1501 naming (pairs across cameras) or MOT sequences (GT crops;
    same-identity pairs across frames, different-identity pairs inside each sequence)."""
    query, gallery = crop_set(folder, flt)
    sets = [query] + ([gallery] if gallery is not None else [])
    feats = np.concatenate([embed_crops(extractor, s, progress=progress, cancel=cancel) for s in sets])
    notes = [n for s in sets for n in s.notes]
    if query.kind == "mot":
        notes.append("MOT: same-identity pairs come from nearby frames of one camera, so they are "
                     "closer than across cameras; different-identity pairs are taken inside each sequence")
    else:
        notes.append("Market naming: same-identity pairs only across cameras (same camera excluded)")
    return calibrate_features(feats, np.concatenate([s.pids for s in sets]), np.concatenate([s.cams for s in sets]),
                              np.concatenate([s.groups for s in sets]), source=str(folder), target_fmr=target_fmr,
                              current_threshold=current_threshold, model=model, category=category, notes=notes,
                              gallery_identities=gallery_identities)


def calibrate_gallery_features(vecs: np.ndarray, ident_ids: np.ndarray, source: str, target_fmr: float = 0.01,
                               current_threshold: float | None = None, model: str = "", category: str = "person") -> Calibration:
    """From a gallery's features: photos of one identity are genuine pairs (needs identities with 2+ photos),
    photos of different identities are impostor pairs."""
    if len(ident_ids) < 2:
        raise InputError(f"The gallery holds {len(ident_ids)} {category} photo(s); "
                         "calibration needs photos of at least two identities")
    multi = int(sum(c >= 2 for c in np.unique(ident_ids, return_counts=True)[1]))
    notes = [] if multi else ["No identity has two or more photos: add more photos per person to measure missed matches"]
    return calibrate_features(vecs, ident_ids, source=source, target_fmr=target_fmr, current_threshold=current_threshold,
                              model=model, category=category, exclude_same_cam=False, notes=notes,
                              identities_with_several_photos=multi, gallery_identities=len(np.unique(ident_ids)))


def save_threshold(value: float, category: str = "person", local_path: str | Path | None = None) -> Path:
    """Writes `value` as the `category` threshold of the active ReID model into the user's model override file
    (models/local_models.json by default), keeping the rest of the model's spec and every other entry."""
    value = float(value)
    if value not in THRESHOLD_RANGE:
        raise InputError(f"A threshold is a distance between {THRESHOLD_RANGE.low:g} and {THRESHOLD_RANGE.high:g}; "
                         f"{value} cannot be saved")
    local = Path(local_path) if local_path else registry.LOCAL_MANIFEST_PATH
    spec = registry.load_registry(local=local).reid_for(category)
    d = spec.to_dict()
    d["thresholds"] = {**dict(d.get("thresholds") or {}), category: round(value, 4)}
    registry.update_local_config(models={spec.name: d}, path=local)
    return local
