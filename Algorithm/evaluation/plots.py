"""The evaluation's pictures: the calibration (histograms and error curves), precision / recall of sightings
against the threshold, and the ranked gallery photos of a query.

Built on matplotlib `Figure` objects (no pyplot state): safe in worker threads and in Qt. matplotlib is
imported inside the functions, so the evaluation modules load without it.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from Algorithm.errors import InputError
from Algorithm.evaluation.calibrate import MIN_GENUINE_PAIRS, Calibration
from Algorithm.evaluation.error_rates import error_curves
from Algorithm.evaluation.ranking import RankedPhoto
from Algorithm.evaluation.tracks_eval import TracksEvaluation


def calibration_figure(cal: Calibration, title: str = "", fig=None):
    """Histograms of both distance sets (top) and FMR / FNMR against the threshold (bottom, log scale).
    Draws into `fig` when given (cleared first: a Qt canvas keeps its figure), else into a new Figure."""
    from matplotlib.figure import Figure

    p, sug = cal.pairs, cal.suggested
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
        ax1.hist(p.impostor, bins=bins, density=True, alpha=0.55, color="#d7191c",
                 label=f"different identities ({len(p.impostor)} pairs)")
    ax1.set_ylabel("density")
    c = error_curves(p.genuine, p.impostor, np.linspace(0.0, hi, 401))
    floor = 0.5 / max(len(p.impostor), len(p.genuine), 1)
    if c.fmr is not None:
        ax2.plot(c.thresholds, np.where(c.fmr > 0, c.fmr, np.nan), color="#d7191c", label="false-match rate (FMR)")
    if c.fnmr is not None:
        ax2.plot(c.thresholds, np.where(c.fnmr > 0, c.fnmr, np.nan), color="#1a9641", label="missed-match rate (FNMR)")
    ax2.set_yscale("log")
    ax2.set_ylim(max(floor, 1e-5), 1.05)
    ax2.axhline(cal.target_fmr, color="#d7191c", ls=":", lw=1)
    ax2.set_xlabel("threshold (distance = 1 - cosine; a pair matches below it)")
    ax2.set_ylabel("rate")
    for ax in (ax1, ax2):
        if sug:
            ax.axvline(sug.threshold, color="black", lw=1.6,
                       label=f"suggested {sug.threshold:.3f} (FMR <= {cal.target_fmr:g})" if ax is ax1 else None)
        o = cal.open_set
        if o is not None and o.resolved and sug and o.threshold < sug.threshold:
            ax.axvline(o.threshold, color="#7b3294", ls="-.", lw=1.4,
                       label=f"among strangers {o.threshold:.3f} ({cal.gallery_identities} identities)" if ax is ax1 else None)
        if cal.current_threshold is not None:
            ax.axvline(cal.current_threshold, color="#2c7bb6", ls="--", lw=1.4,
                       label=f"current {cal.current_threshold:.3f}" if ax is ax1 else None)
        ax.grid(alpha=0.3)
    if sug:
        fnmr = "n/a" if sug.fnmr is None else f"{sug.fnmr:.3f}"
        caveat = "" if sug.resolved else f" ({sug.impostor_pairs} pairs: {cal.target_fmr:g} not measurable)"
        ax2.set_title(textwrap.fill(f"at {sug.threshold:.3f}: FMR {sug.fmr:.4f}{caveat}, FNMR {fnmr}", 70), fontsize=9)
    ax1.legend(fontsize=8, loc="upper right")
    ax2.legend(fontsize=8, loc="lower left")
    ax1.set_xlim(0.0, hi)
    where = Path(str(cal.source).removeprefix("gallery ")).name
    if not sug and cal.refusal:
        n = cal.genuine_pairs
        ax2.set_title(f"no suggestion: {n} same-identity pair{'' if n == 1 else 's'} ({MIN_GENUINE_PAIRS} needed)", fontsize=9)
    # the title is wrapped and kept small so it is not cut on a narrow canvas (the GUI's beside its controls)
    fig.suptitle(textwrap.fill(title or f"Threshold calibration: {cal.model} ({cal.category}) on {where}", 60),
                 fontsize=10)
    fig.tight_layout()
    return fig


def sweep_figure(res: TracksEvaluation, title: str = ""):
    """Precision and recall of the sightings against the threshold (one `evaluate_tracks` result)."""
    from matplotlib.figure import Figure

    sw = res.sweep
    t = [w.threshold for w in sw]
    nan = float("nan")
    fig = Figure(figsize=(7.0, 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(t, [nan if w.precision is None else w.precision for w in sw], "o-", ms=3, color="#2c7bb6", label="precision")
    ax.plot(t, [nan if w.recall is None else w.recall for w in sw], "o-", ms=3, color="#1a9641", label="recall")
    det = res.overall.detector_recall
    if det is not None:
        ax.axhline(det, color="#1a9641", ls=":", lw=1, label=f"detector recall {det:.3f} (recall ceiling)")
    ax.axvline(res.threshold, color="black", ls="--", lw=1.2, label=f"threshold used {res.threshold:g}")
    ax.set_xlabel("threshold (distance = 1 - cosine)")
    ax.set_ylabel("frame-level rate")
    ax.set_ylim(0.0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    strangers = f", {res.hold_out:.0%} strangers" if res.hold_out else ""
    ax.set_title(title or f"Sightings on {Path(res.path).name}: {res.model}{strangers}", fontsize=10)
    fig.tight_layout()
    return fig


def ranked_figure(query: np.ndarray, photos: list[RankedPhoto], threshold: float, title: str = ""):
    """One matplotlib Figure: the query, then the ranked gallery crops with label and distance; green frame
    for distances under the threshold (a match), red otherwise."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = len(photos) + 1
    fig = Figure(figsize=(1.55 * n + 0.3, 3.9), dpi=110)
    for k in range(n):
        ax = fig.add_subplot(1, n, k + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            img, text, color = query, "query", "#1f4e9c"
        else:
            r = photos[k - 1]
            img = r.crop if r.crop is not None else np.full((256, 128, 3), 200, np.uint8)
            text = f"#{r.rank} {r.label}\nd={r.distance:.3f}"
            color = "#1a9641" if r.distance < threshold else "#d7191c"
        ax.imshow(_fit(img)[:, :, ::-1])
        ax.set_title(text, fontsize=9, color=color)
        ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, lw=4, edgecolor=color, clip_on=False))
    fig.suptitle(title or f"Top {len(photos)} gallery photos (green: distance < threshold {threshold:.3f})", fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.78, wspace=0.12)
    return fig


FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"Cannot write a picture as {path.name}: name it .png, .jpg, .pdf or .svg")
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)  # attach an Agg canvas (no pyplot, no GUI backend)
    fig.savefig(str(path), dpi=dpi)
    return path


def _fit(img: np.ndarray, h: int = 256, w: int = 128) -> np.ndarray:
    """Letterbox into h x w (keep the aspect ratio, grey padding)."""
    import cv2

    ih, iw = img.shape[:2]
    s = min(h / ih, w / iw)
    nh, nw = max(1, int(round(ih * s))), max(1, int(round(iw * s)))
    canvas = np.full((h, w, 3), 230, np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    canvas[y : y + nh, x : x + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return canvas
