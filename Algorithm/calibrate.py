"""What threshold should I use? Distances of same-identity ("genuine") and different-identity ("impostor")
pairs, the false-match / missed-match curves against the threshold, a threshold for a target
false-match rate, the picture, and saving the threshold into the user's model config.

Rule (as in the search): a pair matches at threshold t when its distance (1 - cosine) is < t.
    FMR(t)  = share of impostor pairs with distance < t   (false matches)
    FNMR(t) = share of genuine pairs with distance >= t   (missed matches)
Plots are built on matplotlib `Figure` objects (no pyplot state): safe in worker threads and in Qt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, ModelError

OTHER_TARGETS = (0.001, 0.01, 0.05)  # also reported beside the asked target
MAX_IMPOSTOR_PAIRS = 3_000_000  # above this, impostor pairs are sampled (seeded) to bound memory


# ---------------------------------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------------------------------
@dataclass
class Pairs:
    genuine: np.ndarray  # distances of same-identity pairs
    impostor: np.ndarray  # distances of different-identity pairs
    n_images: int = 0
    n_identities: int = 0
    impostor_total: int = 0  # before sampling
    notes: list[str] = field(default_factory=list)


def pair_distances(
    feats: np.ndarray,
    pids,
    cams=None,
    groups=None,
    exclude_same_cam: bool = True,
    max_impostors: int = MAX_IMPOSTOR_PAIRS,
    seed: int = 0,
    block: int = 256,
) -> Pairs:
    """Distances of every unordered pair inside a group: genuine = same pid (and, when cameras are given and
    `exclude_same_cam`, a different camera, as in the ReID protocol), impostor = different pids.
    pid -1 (junk) takes no part; pid 0 (distractors) only in impostor pairs against real identities."""
    feats = np.asarray(feats, np.float32)
    pids = np.asarray(pids)
    n = len(pids)
    exclude_same_cam = exclude_same_cam and cams is not None  # without cameras there is nothing to exclude
    cams = np.zeros(n, int) if cams is None else np.asarray(cams)
    groups = np.zeros(n, int) if groups is None else np.asarray(groups)
    use = pids != -1
    feats, pids, cams, groups = feats[use], pids[use], cams[use], groups[use]
    n = len(pids)
    # exact number of impostor pairs, to decide on sampling up front
    _, gcount = np.unique(groups, return_counts=True)
    _, pcount = np.unique(pids[pids != 0], return_counts=True)
    n_zero = int((pids == 0).sum())
    impostor_total = int((gcount * (gcount - 1) // 2).sum() - (pcount * (pcount - 1) // 2).sum() - n_zero * (n_zero - 1) // 2)
    keep_p = min(1.0, max_impostors / impostor_total) if impostor_total else 1.0
    rng = np.random.default_rng(seed)
    gen, imp = [], []
    for s in range(0, n, block):
        e = min(s + block, n)
        d = 1.0 - feats[s:e] @ feats.T
        ii = np.arange(s, e)[:, None]
        jj = np.arange(n)[None, :]
        pair = (jj > ii) & (groups[s:e, None] == groups[None, :])
        same = pids[s:e, None] == pids[None, :]
        g = pair & same & (pids[s:e, None] != 0)
        if exclude_same_cam:
            g &= cams[s:e, None] != cams[None, :]
        im = pair & ~same
        if keep_p < 1.0:
            im &= rng.random(im.shape) < keep_p
        gen.append(d[g])
        imp.append(d[im])
    out = Pairs(
        np.clip(np.concatenate(gen) if gen else np.zeros(0), 0.0, 2.0).astype(np.float64),
        np.clip(np.concatenate(imp) if imp else np.zeros(0), 0.0, 2.0).astype(np.float64),
        n_images=n,
        n_identities=len(pcount),
        impostor_total=impostor_total,
    )
    if keep_p < 1.0:
        out.notes.append(f"{len(out.impostor)} of {impostor_total} impostor pairs sampled at random (seed {seed})")
    return out


# ---------------------------------------------------------------------------------------------------
# Curves and the suggestion
# ---------------------------------------------------------------------------------------------------
def fmr_at(impostor: np.ndarray, t: float) -> float | None:
    imp = np.asarray(impostor)
    return float(np.mean(imp < t)) if len(imp) else None


def fnmr_at(genuine: np.ndarray, t: float) -> float | None:
    gen = np.asarray(genuine)
    return float(np.mean(gen >= t)) if len(gen) else None


def error_curves(genuine, impostor, thresholds=None) -> dict:
    """FMR and FNMR at each threshold (default: 0 to 1 by 0.005); None for a side without pairs."""
    t = np.round(np.arange(0.0, 1.0001, 0.005), 4) if thresholds is None else np.asarray(thresholds, np.float64)
    imp, gen = np.sort(np.asarray(impostor, np.float64)), np.sort(np.asarray(genuine, np.float64))
    fmr = np.searchsorted(imp, t, "left") / len(imp) if len(imp) else None
    fnmr = 1.0 - np.searchsorted(gen, t, "left") / len(gen) if len(gen) else None
    return {"thresholds": t, "fmr": fmr, "fnmr": fnmr}


def suggest_threshold(impostor, target_fmr: float, genuine=None) -> dict:
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
    out = {
        "target_fmr": target_fmr,
        "threshold": t,
        "fmr": fmr_at(imp, t),
        "fnmr": fnmr_at(genuine, t) if genuine is not None else None,
        "impostor_pairs": n,
        "false_matches_allowed": k,
        "resolved": n * target_fmr >= 1.0,
        "reliable": n * target_fmr >= 10.0,
    }
    if not out["resolved"]:
        out["note"] = (f"only {n} different-identity pairs: a {target_fmr:g} false-match rate needs at least "
                       f"{math.ceil(1 / target_fmr)} to be measured; the suggestion is the smallest impostor distance "
                       "(no false match observed), which is optimistic")
    elif not out["reliable"]:
        out["note"] = (f"{n} different-identity pairs allow only {k} false match(es) at this target: the threshold "
                       f"is rough; {math.ceil(10 / target_fmr)}+ pairs give a stable one")
    return out


def equal_error(genuine, impostor) -> dict | None:
    """Threshold where FMR and FNMR cross, and that rate (None without both kinds of pairs)."""
    gen, imp = np.asarray(genuine, np.float64), np.asarray(impostor, np.float64)
    if not len(gen) or not len(imp):
        return None
    cand = np.unique(np.concatenate([gen, imp, [0.0, 2.0]]))
    c = error_curves(gen, imp, cand)
    i = int(np.argmin(np.abs(c["fmr"] - c["fnmr"])))
    return {"threshold": float(cand[i]), "rate": float((c["fmr"][i] + c["fnmr"][i]) / 2)}


def _stats(d: np.ndarray, qs) -> dict:
    if not len(d):
        return {"n": 0}
    out = {"n": int(len(d)), "mean": float(np.mean(d)), "min": float(np.min(d)), "max": float(np.max(d))}
    for q in qs:  # p0.1 = 0.1st percentile, p50 = median, ...
        out[f"p{100 * q:g}"] = float(np.quantile(d, q))
    return out


# ---------------------------------------------------------------------------------------------------
# One calibration: pairs + report
# ---------------------------------------------------------------------------------------------------
@dataclass
class Calibration:
    pairs: Pairs
    source: str
    target_fmr: float
    current_threshold: float | None = None
    model: str = ""
    category: str = "person"
    extra_notes: list[str] = field(default_factory=list)  # what the source adds (data caveats)
    extra: dict = field(default_factory=dict)  # source-specific counts, merged into the report
    report: dict = field(init=False)

    def __post_init__(self):
        p = self.pairs
        sug = suggest_threshold(p.impostor, self.target_fmr, p.genuine) if len(p.impostor) else None
        cur = self.current_threshold
        notes = list(p.notes)
        if not len(p.genuine):
            notes.append("No same-identity pairs: the missed-match rate cannot be measured; the suggestion rests on "
                         "different-identity pairs only")
        if sug and sug.get("note"):
            notes.append(sug["note"])
        self.report = {
            "format": "reid-app-calibration",
            "version": 1,
            "source": self.source,
            "model": self.model,
            "category": self.category,
            "rule": "a pair matches when distance (1 - cosine) < threshold",
            "images": p.n_images,
            "identities": p.n_identities,
            "genuine_pairs": int(len(p.genuine)),
            "impostor_pairs": int(len(p.impostor)),
            "impostor_pairs_total": p.impostor_total,
            "target_fmr": self.target_fmr,
            "suggested": sug,
            "current_threshold": cur,
            "at_current": None if cur is None else {"fmr": fmr_at(p.impostor, cur), "fnmr": fnmr_at(p.genuine, cur)},
            "other_targets": [
                {k: v for k, v in suggest_threshold(p.impostor, t, p.genuine).items() if k != "note"}
                for t in OTHER_TARGETS if len(p.impostor)
            ],
            "equal_error": equal_error(p.genuine, p.impostor),
            "genuine_distance": _stats(p.genuine, (0.5, 0.95, 0.99)),
            "impostor_distance": _stats(p.impostor, (0.001, 0.01, 0.05, 0.5)),
            "notes": notes + list(self.extra_notes),
            **self.extra,
        }

    def add_note(self, note: str) -> None:
        self.extra_notes.append(note)
        self.report["notes"].append(note)

    def add_extra(self, key: str, value) -> None:
        self.extra[key] = value
        self.report[key] = value

    @property
    def suggested_threshold(self) -> float | None:
        s = self.report["suggested"]
        return None if s is None else s["threshold"]

    def to_json(self) -> dict:
        return self.report

    def figure(self, title: str = "", fig=None):
        return calibration_figure(self, title, fig)

    def with_target(self, target_fmr: float) -> "Calibration":
        """The same pairs, the suggestion for another target false-match rate (cheap: no re-embedding)."""
        return Calibration(self.pairs, self.source, target_fmr, self.current_threshold, self.model, self.category,
                           list(self.extra_notes), dict(self.extra))


def calibrate_features(feats, pids, cams=None, groups=None, *, source: str, target_fmr: float = 0.01,
                       current_threshold: float | None = None, model: str = "", category: str = "person",
                       exclude_same_cam: bool = True) -> Calibration:
    pairs = pair_distances(feats, pids, cams, groups, exclude_same_cam=exclude_same_cam)
    return Calibration(pairs, source, target_fmr, current_threshold, model, category)


def calibrate_folder(folder, extractor, target_fmr: float = 0.01, current_threshold: float | None = None,
                     model: str = "", category: str = "person", flt=None, progress=None) -> Calibration:
    """From an evaluation folder: Market-1501 naming (pairs across cameras) or MOT sequences (GT crops;
    same-identity pairs across frames, different-identity pairs inside each sequence)."""
    from .evaluate import GtFilter, crop_set, embed

    query, gallery = crop_set(folder, flt or GtFilter())
    sets = [query] + ([gallery] if gallery is not None else [])
    feats = np.concatenate([embed(extractor, s, progress=progress) for s in sets])
    pids = np.concatenate([s.pids for s in sets])
    cams = np.concatenate([s.cams for s in sets])
    groups = np.concatenate([s.groups for s in sets])
    cal = calibrate_features(feats, pids, cams, groups, source=str(folder), target_fmr=target_fmr,
                             current_threshold=current_threshold, model=model, category=category)
    for s in sets:
        for n in s.notes:
            cal.add_note(n)
    if query.kind == "mot":
        cal.add_note("MOT: same-identity pairs come from nearby frames of one camera, so they are "
                                   "closer than across cameras; different-identity pairs are taken inside each sequence")
    else:
        cal.add_note("Market naming: same-identity pairs only across cameras (same camera excluded)")
    return cal


def calibrate_engine_folder(engine, folder, category: str = "person", target_fmr: float = 0.01, flt=None,
                            progress=None) -> Calibration:
    """calibrate_folder with the engine's ReID model and current threshold for `category`."""
    spec = engine.registry.reid_for(category)
    return calibrate_folder(folder, engine.extractor(category), target_fmr, engine.threshold(category), spec.name,
                            category, flt, progress)


def calibrate_gallery(engine, category: str = "person", target_fmr: float = 0.01) -> Calibration:
    """From the user's own gallery: photos of one identity are genuine pairs (needs identities with 2+ photos),
    photos of different identities are impostor pairs."""
    spec = engine.registry.reid_for(category)
    _, ident_ids, vecs = engine.gallery.features(spec.name, category)
    if len(ident_ids) < 2:
        raise InputError(f"The gallery holds {len(ident_ids)} {category} photo(s); calibration needs photos of at least two identities")
    cal = calibrate_features(vecs, ident_ids, source=f"gallery {engine.gallery.path}", target_fmr=target_fmr,
                             current_threshold=engine.threshold(category), model=spec.name, category=category,
                             exclude_same_cam=False)
    multi = int(sum(c >= 2 for c in np.unique(ident_ids, return_counts=True)[1]))
    cal.add_extra("identities_with_several_photos", multi)
    if multi == 0:
        cal.add_note("No identity has two or more photos: add more photos per person to measure missed matches")
    return cal


# ---------------------------------------------------------------------------------------------------
# Picture
# ---------------------------------------------------------------------------------------------------
def calibration_figure(cal: Calibration, title: str = "", fig=None):
    """Histograms of both distance sets (top) and FMR / FNMR against the threshold (bottom, log scale).
    Draws into `fig` when given (cleared first: a Qt canvas keeps its figure), else into a new Figure."""
    from matplotlib.figure import Figure

    p, rep = cal.pairs, cal.report
    sug = rep["suggested"]
    if fig is None:
        fig = Figure(figsize=(8.0, 7.0), dpi=100)
    else:
        fig.clear()
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.1]})
    hi = max(1.0, float(np.max(np.concatenate([p.genuine, p.impostor, [0.0]]))) + 0.02)
    bins = np.linspace(0.0, hi, 81)
    if len(p.genuine):
        ax1.hist(p.genuine, bins=bins, density=True, alpha=0.55, color="#1a9641", label=f"same identity ({len(p.genuine)} pairs)")
    if len(p.impostor):
        ax1.hist(p.impostor, bins=bins, density=True, alpha=0.55, color="#d7191c", label=f"different identities ({len(p.impostor)} pairs)")
    ax1.set_ylabel("density")
    c = error_curves(p.genuine, p.impostor, np.linspace(0.0, hi, 401))
    floor = 0.5 / max(len(p.impostor), len(p.genuine), 1)
    if c["fmr"] is not None:
        ax2.plot(c["thresholds"], np.where(c["fmr"] > 0, c["fmr"], np.nan), color="#d7191c", label="false-match rate (FMR)")
    if c["fnmr"] is not None:
        ax2.plot(c["thresholds"], np.where(c["fnmr"] > 0, c["fnmr"], np.nan), color="#1a9641", label="missed-match rate (FNMR)")
    ax2.set_yscale("log")
    ax2.set_ylim(max(floor, 1e-5), 1.05)
    ax2.axhline(cal.target_fmr, color="#d7191c", ls=":", lw=1)
    ax2.set_xlabel("threshold (distance = 1 - cosine; a pair matches below it)")
    ax2.set_ylabel("rate")
    for ax in (ax1, ax2):
        if sug:
            ax.axvline(sug["threshold"], color="black", lw=1.6,
                       label=f"suggested {sug['threshold']:.3f} (FMR <= {cal.target_fmr:g})" if ax is ax1 else None)
        if cal.current_threshold is not None:
            ax.axvline(cal.current_threshold, color="#2c7bb6", ls="--", lw=1.4,
                       label=f"current {cal.current_threshold:.3f}" if ax is ax1 else None)
        ax.grid(alpha=0.3)
    if sug:
        fnmr = "n/a" if sug["fnmr"] is None else f"{sug['fnmr']:.3f}"
        caveat = "" if sug["resolved"] else f" (only {sug['impostor_pairs']} pairs: {cal.target_fmr:g} not measurable)"
        ax2.set_title(f"at {sug['threshold']:.3f}: FMR {sug['fmr']:.4f}{caveat}, FNMR {fnmr}", fontsize=9)
    ax1.legend(fontsize=8, loc="upper right")
    ax2.legend(fontsize=8, loc="lower left")
    ax1.set_xlim(0.0, hi)
    where = Path(str(rep["source"]).removeprefix("gallery ")).name
    fig.suptitle(title or f"Threshold calibration: {rep['model']} ({rep['category']}) on {where}", fontsize=11)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)  # attach an Agg canvas (no pyplot, no GUI backend)
    fig.savefig(str(path), dpi=dpi)
    return path


# ---------------------------------------------------------------------------------------------------
# Saving the threshold
# ---------------------------------------------------------------------------------------------------
def save_threshold(value: float, category: str = "person", local_path: str | Path | None = None) -> Path:
    """Writes `value` as the `category` threshold of the active ReID model into the user's model override file
    (models/local_models.json by default), keeping the rest of the model's spec and every other entry."""
    from .config import LOCAL_MANIFEST_PATH, load_registry, update_local_config

    value = float(value)
    if not 0.0 < value <= 2.0:
        raise InputError(f"A threshold is a distance in (0, 2]; {value} cannot be saved")
    local = Path(local_path) if local_path else LOCAL_MANIFEST_PATH
    spec = load_registry(local=local).reid_for(category)
    d = spec.to_dict()
    d["thresholds"] = {**dict(d.get("thresholds") or {}), category: round(value, 4)}
    update_local_config(models={spec.name: d}, path=local)
    return local


def apply_threshold(engine, value: float, category: str = "person", local_path: str | Path | None = None) -> Path:
    """save_threshold, then reloads the engine's model registry so the new default takes effect at once
    (a per-run threshold in the engine's settings, when set, still wins)."""
    from .config import load_registry

    dest = save_threshold(value, category, local_path)
    engine.registry = load_registry(local=Path(local_path) if local_path else None)
    return dest
