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

from .config import CATEGORIES

COMMANDS: set[str] = {"evaluate", "calibrate", "rank"}
_DEFAULT_GALLERY = "<default>"


def _fmr(text: str) -> float:
    v = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError("a false-match rate is between 0 and 1 (0.01) or a percentage (1%)")
    return v


def _box(text: str):
    from .cli import _box as box

    return box(text)


def _gt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-visibility", type=float, default=0.5, help="MOT: GT rows at least this visible (default 0.5)")
    p.add_argument("--min-height", type=float, default=50.0, help="MOT: GT boxes at least this tall, px (default 50)")


def add_parsers(sub) -> None:
    """Adds this module's sub-commands to the main parser."""
    ev = sub.add_parser("evaluate", help="measure the ReID model on labelled data")
    esub = ev.add_subparsers(dest="what", required=True)
    r = esub.add_parser("reid", help="Rank-1/5/10, mAP, mINP on Market-1501-named crops (or MOT GT crops)")
    r.add_argument("folder", type=Path, help="query/ + bounding_box_test/, or one folder of PID_cCAM..._NN.jpg, or MOT sequence(s)")
    r.add_argument("--out", type=Path, help="write the figures as JSON")
    r.add_argument("--category", choices=CATEGORIES, default="person")
    r.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    r.add_argument("--per-query", action="store_true", help="also print each query's rank and AP")
    _gt_args(r)
    t = esub.add_parser("tracks", help="precision / recall of sightings on MOT sequence(s), GT identities registered from their first frame")
    t.add_argument("path", type=Path, help="a MOT sequence (img1/ + gt/gt.txt) or a folder of them")
    t.add_argument("--out", type=Path, help="write the figures as JSON")
    t.add_argument("--threshold", type=float, help="match distance (default: the model's)")
    t.add_argument("--plot", type=Path, help="save precision / recall against the threshold as an image")
    t.add_argument("--iou", type=float, default=0.5, help="IoU with the GT box for a hit (default 0.5)")
    t.add_argument("--max-frames", type=int, help="only the first N frames of each sequence")
    t.add_argument("--strangers", type=float, default=0.0,
                   help="share of GT identities left out of the gallery (0-1, e.g. 0.5): boxes on them that get a label are false matches")
    t.add_argument("--category", choices=CATEGORIES, default="person", help="category searched (MOT GT is pedestrians)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    t.add_argument("--quiet", action="store_true")
    _gt_args(t)

    c = sub.add_parser("calibrate", help="suggest a match threshold for a target false-match rate, with a plot")
    c.add_argument("folder", type=Path, nargs="?", help="evaluation folder: Market-1501 naming or MOT sequence(s)")
    c.add_argument("--gallery", nargs="?", const=_DEFAULT_GALLERY,
                   help="calibrate on a gallery (default: the app's gallery); identities need several photos")
    c.add_argument("--target-fmr", type=_fmr, default=0.01, help="target false-match rate per pair (default 0.01 = 1%%)")
    c.add_argument("--plot", type=Path, help="save the histograms and curves as an image")
    c.add_argument("--save", action="store_true", help="write the suggested threshold into models/local_models.json")
    c.add_argument("--local-config", type=Path, help=argparse.SUPPRESS)  # where --save writes (tests)
    c.add_argument("--out", type=Path, help="write the calibration as JSON")
    c.add_argument("--category", choices=CATEGORIES, default="person")
    c.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    _gt_args(c)

    k = sub.add_parser("rank", help="picture of the gallery photos nearest to a query")
    k.add_argument("query", type=Path, help="a crop or a photo (the most confident detection is used)")
    k.add_argument("--gallery", type=Path, help="gallery file (default: the app's gallery)")
    k.add_argument("--top", type=int, default=5)
    k.add_argument("--out", type=Path, default=Path("ranked.png"), help="image to write (default ranked.png)")
    k.add_argument("--per-identity", action="store_true", help="only the nearest photo of each identity")
    k.add_argument("--category", choices=CATEGORIES, default="person")
    k.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    g = k.add_mutually_exclusive_group()
    g.add_argument("--box", type=_box, help="x1,y1,x2,y2 of the query in the photo")
    g.add_argument("--whole", action="store_true", help="the query photo is a crop: use it whole")


def run(args) -> int:
    if args.cmd == "evaluate":
        return _evaluate_reid(args) if args.what == "reid" else _evaluate_tracks(args)
    if args.cmd == "calibrate":
        return _calibrate(args)
    if args.cmd == "rank":
        return _rank(args)
    return 2


# -- helpers -------------------------------------------------------------------------------------------
def _scratch_engine(args, path: Path | None = None):
    from .outer_api import Engine, Settings

    if path is None:
        tmp = tempfile.mkdtemp(prefix="reid-eval-")
        atexit.register(shutil.rmtree, tmp, True)
        path = Path(tmp) / "gallery.db"
    return Engine(path, Settings().with_(keep_frames=False, device=args.device, categories=(getattr(args, "category", "person"),)))


def _filter(args):
    from .evaluate import GtFilter

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
    from .evaluate import evaluate_reid

    eng = _scratch_engine(args)
    try:
        spec = eng.registry.reid_for(args.category)
        res = evaluate_reid(args.folder, eng.extractor(args.category), spec.name, _filter(args),
                            progress=lambda m: print(m, file=sys.stderr))
    finally:
        eng.close()
    print(f"model {res['model']} on {res['folder']} ({res['mode']}): {res['n_queries']} queries, "
          f"{res['n_gallery']} gallery images, {res['n_identities']} identities")
    print(f"  valid queries {res['n_valid_queries']} (without a valid gallery match: {res['n_no_match']})")
    print(f"  Rank-1 {_pct(res['rank1'])}  Rank-5 {_pct(res['rank5'])}  Rank-10 {_pct(res['rank10'])}  "
          f"mAP {_pct(res['mAP'])}  mINP {_pct(res['mINP'])}")
    if args.per_query:
        for q in res["per_query"]:
            print(f"    {q['query']}: " + (f"first hit at rank {q['first_hit_rank']}, AP {q['ap']:.4f}" if q["valid"] else "no valid match"))
    for n in res["notes"]:
        print(f"  note: {n}")
    _write_json(res, args.out)
    return 0


# -- evaluate tracks -----------------------------------------------------------------------------------
def _evaluate_tracks(args) -> int:
    from .evaluate import evaluate_tracks

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
    print(f"model {res['model']}, threshold {threshold:g}, IoU >= {args.iou:g}; {res['filter']['text']}"
          + (f"; {args.strangers:.0%} of identities left out as strangers" if args.strangers else ""))
    print(f"{'sequence':<18}{'frames':>7}{'ids':>5}{'sightings':>10}{'TP':>6}{'FP':>5}{'precision':>11}{'recall':>8}{'det.recall':>11}")
    for s in res["sequences"]:
        o = s["overall"]
        print(f"{s['name']:<18}{s['frames']:>7}{o['identities']:>5}{o['sightings']:>10}{o['tp']:>6}{o['fp']:>5}"
              f"{_num(o['precision'], '.3f'):>11}{_num(o['recall'], '.3f'):>8}{_num(o['detector_recall'], '.3f'):>11}")
    o = res["overall"]
    print(f"{'ALL':<18}{sum(s['frames'] for s in res['sequences']):>7}{o['identities']:>5}{o['sightings']:>10}{o['tp']:>6}"
          f"{o['fp']:>5}{_num(o['precision'], '.3f'):>11}{_num(o['recall'], '.3f'):>8}{_num(o['detector_recall'], '.3f'):>11}")
    print(f"recall among detected GT boxes: {_num(o['recall_given_detected'], '.3f')}; F1 {_num(o['f1'], '.3f')}; "
          f"{o['ignored']} box(es) not scored (on a filtered-out GT box of the same identity)"
          + (f"; {o['fp_on_strangers']} false match(es) on strangers" if args.strangers else ""))
    print("threshold sweep (same run): " + "  ".join(
        f"{w['threshold']:.3f}: P {_num(w['precision'], '.3f')} R {_num(w['recall'], '.3f')}" for w in res["sweep"][::2]))
    if args.plot:
        from .calibrate import save_figure
        from .evaluate import sweep_figure

        print(f"plot written to {save_figure(sweep_figure(res), args.plot)}")
    _write_json(res, args.out)
    return 0


# -- calibrate -----------------------------------------------------------------------------------------
def _calibrate(args) -> int:
    from . import calibrate as cb
    from .outer_api import Engine, Settings

    if (args.folder is None) == (args.gallery is None):
        print("error: give an evaluation FOLDER or --gallery [PATH] (one of them)", file=sys.stderr)
        return 2
    settings = Settings().with_(keep_frames=False, device=args.device, categories=(args.category,))
    if args.gallery is not None:
        eng = Engine(None if args.gallery == _DEFAULT_GALLERY else Path(args.gallery), settings)
        try:
            cal = cb.calibrate_gallery(eng, args.category, args.target_fmr)
        finally:
            eng.close()
    else:
        eng = _scratch_engine(args)
        try:
            spec = eng.registry.reid_for(args.category)
            cal = cb.calibrate_folder(args.folder, eng.extractor(args.category), args.target_fmr,
                                      eng.default_threshold(args.category), spec.name, args.category, _filter(args))
        finally:
            eng.close()
    rep = cal.report
    print(f"calibration of {rep['model']} ({rep['category']}) on {rep['source']}: {rep['images']} images, "
          f"{rep['identities']} identities, {rep['genuine_pairs']} same-identity and {rep['impostor_pairs']} different-identity pairs")
    gd, idist = rep["genuine_distance"], rep["impostor_distance"]
    if gd["n"]:
        print(f"  same identity distance: median {gd['p50']:.3f}, 95% below {gd['p95']:.3f}, max {gd['max']:.3f}")
    if idist["n"]:
        print(f"  different identities distance: min {idist['min']:.3f}, 1% below {idist['p1']:.3f}, median {idist['p50']:.3f}")
    s = rep["suggested"]
    if s:
        print(f"  suggested threshold for FMR <= {args.target_fmr:g}: {s['threshold']:.3f} "
              f"(FMR {s['fmr']:.4f}, missed matches {_pct(s['fnmr'])})")
    if rep["other_targets"]:
        print("  other targets: " + ", ".join(
            f"FMR {o['target_fmr']:g} -> {o['threshold']:.3f} (missed {_pct(o['fnmr'])}{'' if o['resolved'] else ', not measurable'})"
            for o in rep["other_targets"]))
    if rep["at_current"]:
        print(f"  current threshold {rep['current_threshold']:.3f}: FMR {_num(rep['at_current']['fmr'])}, "
              f"missed matches {_pct(rep['at_current']['fnmr'])}")
    if rep["equal_error"]:
        print(f"  equal error rate {_pct(rep['equal_error']['rate'])} at {rep['equal_error']['threshold']:.3f}")
    for n in rep["notes"]:
        print(f"  note: {n}")
    if args.plot:
        print(f"plot written to {cb.save_figure(cal.figure(), args.plot)}")
    _write_json(rep, args.out)
    if args.save:
        if not s:
            print("error: nothing to save (no suggestion)", file=sys.stderr)
            return 2
        dest = cb.save_threshold(s["threshold"], args.category, args.local_config)
        print(f"threshold {s['threshold']:.3f} saved for {rep['category']} in {dest}")
    return 0


# -- rank ------------------------------------------------------------------------------------------------
def _rank(args) -> int:
    from .calibrate import save_figure
    from .evaluate import query_crop, rank_gallery, ranked_figure
    from .outer_api import Engine, Settings

    eng = Engine(args.gallery, Settings().with_(keep_frames=False, device=args.device, categories=(args.category,)))
    try:
        crop, box, how = query_crop(eng, args.query, args.category, args.box, args.whole)
        feat = eng.extractor(args.category)([crop])[0]
        rows = rank_gallery(eng, feat, args.category, max(1, args.top), args.per_identity)
        thr = eng.threshold(args.category)
        fig = ranked_figure(crop, rows, thr, f"{args.query.name}: top {len(rows)} (green: d < {thr:.3f})")
        save_figure(fig, args.out)
    finally:
        eng.close()
    print(f"query: {how} " + ",".join(str(int(round(v))) for v in box))
    for r in rows:
        print(f"  #{r['rank']} {r['label']} (photo #{r['entry_id']}): distance {r['distance']:.4f}" + ("  match" if r["distance"] < thr else ""))
    print(f"picture written to {args.out}")
    return 0
