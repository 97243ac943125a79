"""Command-line evaluation and calibration:

    python -m Algorithm evaluate reid FOLDER [--out r.json]        Rank-1/5/10, mAP, mINP (Market naming or MOT)
    python -m Algorithm evaluate tracks SEQUENCE(S) [--out t.json] frame-level precision / recall of sightings
    python -m Algorithm calibrate (FOLDER | --gallery [PATH]) [--target-fmr 0.01] [--plot p.png] [--save]
    python -m Algorithm rank QUERY [--gallery PATH] [--top 5] --out ranked.png
"""
from __future__ import annotations

import argparse
import atexit
import json
import shutil
import sys
import tempfile
from pathlib import Path

from Algorithm.cli import args as A
from Algorithm.rules import CATEGORIES, DEVICES

COMMANDS: set[str] = {"evaluate", "calibrate", "rank"}
_DEFAULT_GALLERY = "<default>"


def _fmr(text: str) -> float:
    v = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError("a false-match rate is between 0 and 1 (0.01) or a percentage (1%)")
    return v


def _gt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-visibility", type=float, default=0.5, help="MOT: GT rows at least this visible (default 0.5)")
    p.add_argument("--min-height", type=float, default=50.0, help="MOT: GT boxes at least this tall, px (default 50)")


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="ReID model to evaluate (default: the one serving --category); "
                                   "`python -m Algorithm models list` names them")


def add_parsers(sub) -> None:
    """Adds this module's sub-commands to the main parser."""
    ev = sub.add_parser("evaluate", help="measure the ReID model on labelled data")
    esub = ev.add_subparsers(dest="what", required=True)
    r = esub.add_parser("reid", help="Rank-1/5/10, mAP, mINP on Market-1501-named crops (or MOT GT crops)")
    r.add_argument("folder", type=Path,
                   help="query/ + bounding_box_test/, or one folder of PID_cCAM..._NN.jpg, or MOT sequence(s)")
    r.add_argument("--out", type=Path, help="write the figures as JSON")
    r.add_argument("--category", choices=CATEGORIES, default="person")
    r.add_argument("--device", choices=DEVICES, default="auto")
    r.add_argument("--per-query", action="store_true", help="also print each query's rank and AP")
    _model_arg(r)
    _gt_args(r)
    t = esub.add_parser("tracks", help="precision / recall of sightings on MOT sequence(s), "
                                       "GT identities registered from their first frame")
    t.add_argument("path", type=Path, help="a MOT sequence (img1/ + gt/gt.txt) or a folder of them")
    t.add_argument("--out", type=Path, help="write the figures as JSON")
    t.add_argument("--threshold", type=A.threshold, help="match distance (default: the model's)")
    t.add_argument("--plot", type=Path, help="save precision / recall against the threshold as an image")
    t.add_argument("--iou", type=float, default=0.5, help="IoU with the GT box for a hit (default 0.5)")
    t.add_argument("--max-frames", type=A.positive_int, help="only the first N frames of each sequence")
    t.add_argument("--strangers", type=float, default=0.0,
                   help="share of GT identities left out of the gallery (0-1, e.g. 0.5): "
                        "boxes on them that get a label are false matches")
    t.add_argument("--category", choices=CATEGORIES, default="person", help="category searched (MOT GT is pedestrians)")
    t.add_argument("--device", choices=DEVICES, default="auto")
    t.add_argument("--quiet", action="store_true")
    _model_arg(t)
    _gt_args(t)

    k2 = esub.add_parser("tracklets", help='"how good is this model on my footage?" without labels: same-object '
                                           "pairs from confident tracks, different-object pairs from one frame")
    k2.add_argument("videos", type=Path, nargs="+")
    k2.add_argument("--category", choices=CATEGORIES, default="vehicle")
    k2.add_argument("--model", action="append", dest="models", metavar="NAME",
                    help="a ReID model to measure (repeat to compare; default: the one serving --category)")
    k2.add_argument("--gap", type=A.positive_int, default=10, help="frames between the two views of one track (default 10)")
    k2.add_argument("--target-fmr", type=_fmr, default=0.01, help="for the suggested threshold (default 1%%)")
    k2.add_argument("--max-frames", type=A.positive_int, help="only the first N frames of each video")
    k2.add_argument("--plot", type=Path, help="save the first model's histograms and curves as an image")
    k2.add_argument("--out", type=Path, help="write the figures as JSON")
    k2.add_argument("--device", choices=DEVICES, default="auto")
    k2.add_argument("--quiet", action="store_true")

    o = esub.add_parser("openset", help="one registered identity at a time among strangers: precision, recall "
                                        "and false sightings (MOT sequences, or a video with --labels)")
    o.add_argument("path", type=Path, help="MOT sequence(s), or a labels JSON file of a video (see --labels)")
    o.add_argument("--labels", action="store_true",
                   help='PATH is a labels file: {"video": "clip.mp4", "people": [{"label": "Anna", "frame": 300, '
                        '"box": [x1, y1, x2, y2] (optional), "in_view": [[225, 450]]}]}')
    o.add_argument("--threshold", type=A.threshold, help="match distance (default: the model's)")
    o.add_argument("--sample-ft", type=A.sample_ft, default=1, help="video: process every k-th frame (default 1)")
    o.add_argument("--max-frames", type=A.positive_int, help="video: only the first N frames")
    o.add_argument("--iou", type=float, default=0.5, help="MOT: IoU with the GT box for a right box (default 0.5)")
    o.add_argument("--out", type=Path, help="write the figures as JSON")
    o.add_argument("--category", choices=CATEGORIES, default="person")
    o.add_argument("--device", choices=DEVICES, default="auto")
    o.add_argument("--quiet", action="store_true")
    _model_arg(o)
    _gt_args(o)

    c = sub.add_parser("calibrate", help="suggest a match threshold for a target false-match rate, with a plot")
    c.add_argument("folder", type=Path, nargs="?", help="evaluation folder: Market-1501 naming or MOT sequence(s)")
    c.add_argument("--gallery", nargs="?", const=_DEFAULT_GALLERY,
                   help="calibrate on a gallery (default: the app's gallery); identities need several photos")
    c.add_argument("--tracklets", type=Path, nargs="+", metavar="VIDEO",
                   help="calibrate on the tracks of your own videos (no labels; see `evaluate tracklets`)")
    c.add_argument("--gap", type=A.positive_int, default=10, help="--tracklets: frames between the two views of one track")
    c.add_argument("--target-fmr", type=_fmr, default=0.01, help="target false-match rate per pair (default 0.01 = 1%%)")
    c.add_argument("--plot", type=Path, help="save the histograms and curves as an image")
    c.add_argument("--save", action="store_true", help="write the suggested threshold into models/local_models.json "
                        "(refused, like any suggestion, with fewer than 10 same-identity pairs)")
    c.add_argument("--local-config", type=Path, help=argparse.SUPPRESS)  # where --save writes (tests)
    c.add_argument("--out", type=Path, help="write the calibration as JSON")
    c.add_argument("--category", choices=CATEGORIES, default="person")
    c.add_argument("--device", choices=DEVICES, default="auto")
    _model_arg(c)
    _gt_args(c)

    k = sub.add_parser("rank", help="picture of the gallery photos nearest to a query")
    k.add_argument("query", type=Path, help="a crop or a photo (the most confident detection is used)")
    A.add_gallery(k)
    k.add_argument("--top", type=A.positive_int, default=5)
    k.add_argument("--out", type=Path, default=Path("ranked.png"), help="image to write (default ranked.png)")
    k.add_argument("--per-identity", action="store_true", help="only the nearest photo of each identity")
    k.add_argument("--category", choices=CATEGORIES, default="person")
    k.add_argument("--device", choices=DEVICES, default="auto")
    g = k.add_mutually_exclusive_group()
    g.add_argument("--box", type=A.box, help="x1,y1,x2,y2 of the query in the photo")
    g.add_argument("--whole", action="store_true", help="the query photo is a crop: use it whole")


def run(args) -> int:
    if args.cmd == "evaluate":
        return {"reid": _evaluate_reid, "tracks": _evaluate_tracks, "openset": _evaluate_openset,
                "tracklets": _evaluate_tracklets}[args.what](args)
    if args.cmd == "calibrate":
        return _calibrate(args)
    if args.cmd == "rank":
        return _rank(args)
    return 2


# -- helpers -------------------------------------------------------------------------------------------
def _scratch_engine(args, path: Path | None = None):
    from Algorithm.outer_api import Engine, Settings

    if path is None:
        tmp = tempfile.mkdtemp(prefix="reid-eval-")
        atexit.register(shutil.rmtree, tmp, True)
        path = Path(tmp) / "gallery.db"
    category = getattr(args, "category", "person")
    registry = None
    if getattr(args, "model", None):
        from dataclasses import replace

        from Algorithm.models.registry import load_registry

        registry = load_registry()
        registry.get(args.model)  # a clear error for an unknown name
        registry = replace(registry, reid={**registry.reid, category: args.model})
    return Engine(path, Settings().with_(keep_frames=False, device=args.device, categories=(category,)), registry=registry)


def _filter(args):
    from Algorithm.evaluation.datasets import GtFilter

    return GtFilter(min_visibility=args.min_visibility, min_height=args.min_height)


def _write_json(data: dict, dest: Path | None) -> None:
    if dest:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=_jsonable), encoding="utf-8")
        print(f"figures written to {dest}")


def _jsonable(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}%"


def _num(v, fmt=".4f") -> str:
    return "n/a" if v is None else format(v, fmt)


# -- evaluate reid -------------------------------------------------------------------------------------
def _evaluate_reid(args) -> int:
    eng = _scratch_engine(args)
    try:
        res = eng.evaluate_reid(args.folder, args.category, _filter(args), progress=lambda m: print(m, file=sys.stderr))
    finally:
        eng.close()
    m = res.metrics
    print(f"model {res.model} on {res.folder} ({res.mode}): {m.n_queries} queries, "
          f"{res.n_gallery} gallery images, {res.n_identities} identities")
    print(f"  valid queries {m.n_valid_queries} (without a valid gallery match: {m.n_no_match})")
    print("  " + "  ".join(f"Rank-{k} {_pct(v)}" for k, v in m.ranks.items()) + f"  mAP {_pct(m.mAP)}  mINP {_pct(m.mINP)}")
    if args.per_query:
        for q in m.per_query:
            print(f"    {q.query}: " + (f"first hit at rank {q.first_hit_rank}, AP {q.ap:.4f}" if q.valid else "no valid match"))
    for n in res.notes:
        print(f"  note: {n}")
    _write_json(res.to_json(), args.out)
    return 0


# -- evaluate tracks -----------------------------------------------------------------------------------
def _evaluate_tracks(args) -> int:
    from Algorithm.evaluation.tracks_eval import evaluate_tracks

    probe = _scratch_engine(args)
    threshold = args.threshold if args.threshold is not None else probe.default_threshold(args.category)
    probe.close()
    res = evaluate_tracks(
        args.path,
        lambda p: _scratch_engine(args, p),
        threshold,
        _filter(args),
        iou_min=args.iou,
        category=args.category,
        progress=None if args.quiet else (lambda m: print(m, file=sys.stderr)),
        max_frames=args.max_frames,
        hold_out=args.strangers,
    )
    print(f"model {res.model}, threshold {threshold:g}, IoU >= {args.iou:g}; {res.filter.describe()}"
          + (f"; {args.strangers:.0%} of identities left out as strangers" if args.strangers else ""))
    print(f"{'sequence':<18}{'frames':>7}{'ids':>5}{'sightings':>10}{'TP':>6}{'FP':>5}{'precision':>11}{'recall':>8}{'det.recall':>11}")

    def row(name: str, frames: int, o) -> str:
        return (f"{name:<18}{frames:>7}{o.identities:>5}{o.sightings:>10}{o.tp:>6}{o.fp:>5}"
                f"{_num(o.precision, '.3f'):>11}{_num(o.recall, '.3f'):>8}{_num(o.detector_recall, '.3f'):>11}")

    for s in res.sequences:
        print(row(s.name, s.info.frames, s.overall))
    o = res.overall
    print(row("ALL", sum(s.info.frames for s in res.sequences), o))
    print(f"recall among detected GT boxes: {_num(o.recall_given_detected, '.3f')}; F1 {_num(o.f1, '.3f')}; "
          f"{o.ignored} box(es) not scored (on a filtered-out GT box of the same identity)"
          + (f"; {o.fp_on_strangers} false match(es) on strangers" if args.strangers else ""))
    print("threshold sweep (same run): " + "  ".join(
        f"{w.threshold:.3f}: P {_num(w.precision, '.3f')} R {_num(w.recall, '.3f')}" for w in res.sweep[::2]))
    if args.plot:
        from Algorithm.evaluation.plots import save_figure, sweep_figure

        print(f"plot written to {save_figure(sweep_figure(res), args.plot)}")
    _write_json(res.to_json(), args.out)
    return 0


# -- evaluate tracklets --------------------------------------------------------------------------------
def _evaluate_tracklets(args) -> int:
    eng = _scratch_engine(args)
    try:
        res = eng.evaluate_tracklets(args.videos, args.category, args.models, args.gap, args.target_fmr, args.max_frames,
                                     None if args.quiet else (lambda m: print(m, file=sys.stderr)))
    finally:
        eng.close()
    print(f"{', '.join(Path(v).name for v in res.videos)} ({res.category}): {res.tracks} confident tracks, "
          f"same object at frames f and f+{res.gap} against the other objects of frame f+{res.gap}")
    print(f"{'model':<34}{'rank-1':>8}{'mAP':>8}{'ROC AUC':>9}{'queries':>9}{'same':>7}{'diff':>7}"
          f"{'thr @ FMR ' + format(args.target_fmr, 'g'):>16}")
    for m in res.models:
        thr = "n/a" if m.suggestion is None else f"{m.suggestion.threshold:.3f}"
        print(f"{m.model:<34}{_num(m.rank1, '.3f'):>8}{_num(m.mAP, '.3f'):>8}{_num(m.auc, '.3f'):>9}{m.queries:>9}"
              f"{len(m.genuine):>7}{len(m.impostor):>7}{thr:>16}")
    for n in res.notes:
        print(f"  note: {n}")
    if args.plot and res.models:
        from Algorithm.evaluation.plots import calibration_figure, save_figure

        print(f"plot written to {save_figure(calibration_figure(res.calibration()), args.plot)}")
    _write_json(res.to_json(), args.out)
    return 0


# -- evaluate openset ----------------------------------------------------------------------------------
def _evaluate_openset(args) -> int:
    from Algorithm.evaluation import openset_eval as ose

    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    if args.labels:
        labels = ose.read_labels(args.path)
        res = ose.evaluate_openset_video(labels, lambda p: _scratch_engine(args, p), args.threshold, args.sample_ft,
                                         args.category, args.max_frames, progress)
        unit = "frames"
    else:
        res = ose.evaluate_openset_mot(args.path, lambda p: _scratch_engine(args, p), args.threshold, _filter(args),
                                       args.iou, args.category, progress)
        unit = "boxes"
    print(f"model {res.model}, threshold {res.threshold:g}" + (f", sampleFt {res.sample_ft}" if args.labels else "")
          + f": each identity registered alone, the others are strangers ({unit} scored)")
    print(f"{'identity':<22}{'right':>7}{'wrong':>7}{'in view':>9}{'precision':>11}{'recall':>8}")
    for i in res.identities:
        print(f"{i.label:<22}{i.right:>7}{i.wrong:>7}{i.in_view:>9}{_num(i.precision, '.3f'):>11}{_num(i.recall, '.3f'):>8}"
              + "".join(f"  false {f.start_frame}-{f.end_frame} ({f.seconds:.1f} s)" for f in i.false_sightings))
    line = (f"ALL: precision {_num(res.precision, '.3f')}, recall {_num(res.recall, '.3f')} "
            f"(right {res.right}, wrong {res.wrong})")
    if res.mot is not None:
        line += (f"; recall among detected people {_num(res.mot.recall_given_detected, '.3f')}; "
                 f"false claims on other people {res.mot.fp_on_strangers} (IoU >= {args.iou:g} with someone else's "
                 f"GT box), other wrong boxes {res.mot.fp - res.mot.fp_on_strangers} (on no GT box of another person)")
    else:
        line += f"; false sightings {len(res.false_sightings)} (longest {res.longest_false_s:.1f} s)"
    print(line)
    _write_json(res.to_json(), args.out)
    return 0


# -- calibrate -----------------------------------------------------------------------------------------
def _calibrate(args) -> int:
    from Algorithm.evaluation.calibrate import VIEWS_PER_TRACK
    from Algorithm.evaluation.plots import calibration_figure, save_figure
    from Algorithm.outer_api import Engine, Settings

    if sum(x is not None for x in (args.folder, args.gallery, args.tracklets)) != 1:
        print("error: give an evaluation FOLDER, --gallery [PATH] or --tracklets VIDEO... (one of them)", file=sys.stderr)
        return 2
    if args.gallery is not None:
        settings = Settings().with_(keep_frames=False, device=args.device, categories=(args.category,))
        eng = Engine(None if args.gallery == _DEFAULT_GALLERY else Path(args.gallery), settings)
    else:
        eng = _scratch_engine(args)
    try:
        if args.gallery is not None:
            cal = eng.calibrate_gallery(args.category, args.target_fmr)
        elif args.tracklets:
            cal = eng.calibrate_tracklets(args.tracklets, args.category, args.target_fmr, args.gap)
        else:  # a scratch engine: its threshold is the model's default
            cal = eng.calibrate_folder(args.folder, args.category, args.target_fmr, _filter(args))
    finally:
        eng.close()
    print(f"calibration of {cal.model} ({cal.category}) on {cal.source}: {cal.images} images, {cal.identities} identities, "
          f"{cal.genuine_pairs} same-identity and {cal.impostor_pairs} different-identity pairs")
    gd, idist = cal.genuine_distance, cal.impostor_distance
    if gd.n:
        print(f"  same identity distance: median {gd.percentile(50):.3f}, 95% below {gd.percentile(95):.3f}, max {gd.max:.3f}")
    if idist.n:
        print(f"  different identities distance: min {idist.min:.3f}, 1% below {idist.percentile(1):.3f}, "
              f"median {idist.percentile(50):.3f}")
    s = cal.suggested
    if s:
        print(f"  suggested threshold for FMR <= {args.target_fmr:g}: {s.threshold:.3f} "
              f"(FMR {s.fmr:.4f}, missed matches {_pct(s.fnmr)})")
    o = cal.open_set
    if o:
        print(f"  open set: a stranger meets {cal.gallery_identities} identit{'y' if cal.gallery_identities == 1 else 'ies'} "
              f"x {VIEWS_PER_TRACK} views; at most {args.target_fmr:g} of strangers matched needs per-pair FMR "
              f"{o.target_fmr:.2g}: threshold {o.threshold:.3f} (missed matches {_pct(o.fnmr)}"
              + ("" if o.resolved else f"; not measurable with {o.impostor_pairs} pairs") + ")")
    if cal.recommended_threshold is not None:
        print(f"  recommended threshold: {cal.recommended_threshold:.3f}")
    if cal.refusal:
        print(f"  no threshold suggested: {cal.refusal}")
    if cal.other_targets:
        print("  other targets: " + ", ".join(
            f"FMR {o.target_fmr:g} -> {o.threshold:.3f} (missed {_pct(o.fnmr)}{'' if o.resolved else ', not measurable'})"
            for o in cal.other_targets))
    if cal.at_current:
        print(f"  current threshold {cal.current_threshold:.3f}: FMR {_num(cal.at_current.fmr)}, "
              f"missed matches {_pct(cal.at_current.fnmr)}")
    if cal.equal_error:
        print(f"  equal error rate {_pct(cal.equal_error.rate)} at {cal.equal_error.threshold:.3f}")
    for n in cal.notes:
        print(f"  note: {n}")
    if args.plot:
        print(f"plot written to {save_figure(calibration_figure(cal), args.plot)}")
    _write_json(cal.to_json(), args.out)
    if args.save:
        value = cal.recommended_threshold
        if value is None:
            print(f"error: nothing saved: {cal.refusal or 'no suggestion'}", file=sys.stderr)
            return 2
        from Algorithm.evaluation.calibrate import save_threshold

        dest = save_threshold(value, args.category, args.local_config)
        print(f"threshold {value:.3f} saved for {cal.category} in {dest}")
    return 0


# -- rank ------------------------------------------------------------------------------------------------
def _rank(args) -> int:
    from Algorithm.evaluation.plots import ranked_figure, save_figure
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(args.gallery, Settings().with_(keep_frames=False, device=args.device, categories=(args.category,)))
    try:
        r = eng.rank(args.query, args.category, max(1, args.top), args.per_identity, args.box, args.whole)
    finally:
        eng.close()
    title = f"{args.query.name}: top {len(r.photos)} (green: d < {r.threshold:.3f})"
    save_figure(ranked_figure(r.query.crop, r.photos, r.threshold, title), args.out)
    print(f"query: {r.query.how} " + ",".join(str(int(round(v))) for v in r.query.box))
    for p in r.photos:
        print(f"  #{p.rank} {p.label} (photo #{p.entry_id}): distance {p.distance:.4f}" + ("  match" if r.is_match(p) else ""))
    print(f"picture written to {args.out}")
    return 0
