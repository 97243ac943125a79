"""Command line of the footage index ("process once, search forever"):

    python -m Algorithm index PATH... [--categories person,vehicle] [--sample-ft k] [--camera NAME] [--force]
    python -m Algorithm find [LABEL|PHOTO ...] [--box x1,y1,x2,y2] [--threshold t] [--sources PATH ...]
        [--after T] [--before T] --out results.json [--csv sightings.csv] [--journey]
    python -m Algorithm library list|remove PATH|reembed [--category c]
    python -m Algorithm similar TRACK_ID | --image PHOTO [--box ...] [--top N]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from Algorithm.cli import args as A
from Algorithm.rules import CATEGORIES

COMMANDS: set[str] = {"index", "find", "library", "similar"}


def _camera(text: str) -> str:
    """A camera name: journeys are drawn one lane per camera, so a blank one would be a lane without a name."""
    name = " ".join(text.split())
    if not name:
        raise argparse.ArgumentTypeError("a camera name cannot be blank")
    return name


def _time(text: str) -> float:
    """Seconds into a video: 75, 75.5, 1:15 or 0:01:15."""
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a time is seconds or [HH:]MM:SS, not {text!r}") from None
    # nan and inf parse as floats; "1:99" is no clock time (minutes and seconds after the first part are under 60)
    if (not 1 <= len(parts) <= 3 or not all(map(math.isfinite, parts)) or any(p < 0 for p in parts)
            or any(p >= 60 for p in parts[1:])):
        raise argparse.ArgumentTypeError(f"a time is seconds or [HH:]MM:SS, not {text!r}")
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def _track_id(text: str) -> int:
    """A track id as SQLite stores them (a 64-bit integer): a longer number is no track, not a crash."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a track id is a whole number, not {text!r}") from None
    if not 0 < v < 2 ** 63:
        raise argparse.ArgumentTypeError(f"no track has the id {text}")
    return v


def _stores(p: argparse.ArgumentParser) -> None:
    A.add_gallery(p)
    p.add_argument("--footage", type=Path, help="footage index file (default: footage.db beside the gallery)")


def add_parsers(sub) -> None:
    ix = sub.add_parser("index", help="process videos, photos or folders once into the footage index",
                        description="Detects, tracks and embeds every person (and vehicle) once and stores the tracks, "
                        "so later questions (find, similar) are answered without decoding. Files already indexed in "
                        "full and unchanged are skipped (--force processes them again).")
    _stores(ix)
    ix.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    ix.add_argument("--categories", type=A.categories, default=("person",), help="comma list of: " + ",".join(CATEGORIES))
    ix.add_argument("--sample-ft", type=A.sample_ft, default=1, help="process every k-th video frame")
    ix.add_argument("--camera", type=_camera, help="camera name of these files (default: each file's folder name)")
    ix.add_argument("--force", action="store_true", help="process files again even when already indexed")
    ix.add_argument("--max-frames", type=A.positive_int, help="stop each video after this many frames (indexed as partial)")
    A.add_speed(ix)
    A.add_hw_decode(ix)
    A.add_device(ix)
    ix.add_argument("--quiet", action="store_true", help="no progress bar")

    fd = sub.add_parser("find", help="search the footage index (no decoding); results as `search` writes them",
                        description="With no LABEL or PHOTO, every registered identity is searched. A PHOTO is searched "
                        "as an identity of its own. The same decision rules as `search` (a track takes its closest "
                        "view; one identity per box and frame; the model's threshold).")
    _stores(fd)
    fd.add_argument("queries", nargs="*", metavar="LABEL|PHOTO")
    fd.add_argument("--box", type=A.box, help="x1,y1,x2,y2 of the person in the PHOTO, when it shows several")
    fd.add_argument("--threshold", type=A.threshold, help="match distance (1 - cosine); default: each model's own")
    fd.add_argument("--sources", type=Path, nargs="+", help="only these indexed files or folders")
    fd.add_argument("--after", type=_time, help="only from this time in each video (seconds or [HH:]MM:SS)")
    fd.add_argument("--before", type=_time, help="only up to this time in each video")
    fd.add_argument("--categories", type=A.categories, help="comma list of: " + ",".join(CATEGORIES))
    fd.add_argument("--out", type=Path, help="write results as JSON (the layout of `search --out`)")
    fd.add_argument("--csv", type=Path, help="write sightings as CSV")
    fd.add_argument("--journey", action="store_true", help="print each identity's sightings across files and cameras")
    A.add_device(fd)

    lb = sub.add_parser("library", help="the indexed files: list, remove, re-embed after a model switch")
    lsub = lb.add_subparsers(dest="action", required=True)
    ll = lsub.add_parser("list")
    ll.add_argument("--json", action="store_true")
    lr = lsub.add_parser("remove", help="forget an indexed file and its tracks (the file is not touched)")
    lr.add_argument("path", type=Path)
    le = lsub.add_parser("reembed", help="embed the indexed tracks with the active model from their stored crops")
    le.add_argument("--category", choices=CATEGORIES, default="person")
    A.add_device(le)
    for p in (ll, lr, le):  # options after the action, as `gallery list --filter` takes them
        _stores(p)

    sm = sub.add_parser("similar", help="the indexed tracks most like a track (by id) or a person in a photo")
    _stores(sm)
    sm.add_argument("track", type=_track_id, nargs="?", help="an indexed track's id (find's results give them)")
    sm.add_argument("--image", type=Path, help="a photo or a saved frame instead of a track")
    sm.add_argument("--box", type=A.box, help="x1,y1,x2,y2 of the one in the image")
    sm.add_argument("--category", choices=CATEGORIES, default="person")
    sm.add_argument("--top", type=A.positive_int, default=20)
    sm.add_argument("--json", action="store_true")
    A.add_device(sm)


def _engine(args, existing: bool = False, **settings):
    """`existing`: a command that only reads (find, library, similar) refuses a gallery or footage index named on the
    command line that is not there (a mistyped path made empty ones and answered "0 sightings")."""
    from Algorithm.cli.progress import note_damage
    from Algorithm.outer_api import Engine, InputError, Settings

    if existing:
        for flag, path in (("--gallery", args.gallery), ("--footage", args.footage)):
            if path is not None and not Path(path).is_file():
                raise InputError(f"No file at {path} ({flag}): check the path (register and index create them)")
    dev = getattr(args, "device", "auto")
    eng = Engine(args.gallery, Settings().with_(keep_frames=False, device=dev, **settings), footage_path=args.footage)
    note_damage(eng, footage=True)
    return eng


def run(args) -> int:
    return {"index": _index, "find": _find, "library": _library, "similar": _similar}[args.cmd](args)


def _index(args) -> int:
    from Algorithm.cli.progress import drain, note_device, stop_on_ctrl_c
    from Algorithm.outer_api import InputError, list_media

    empty = [str(p) for p in args.paths if not list_media(p)]  # a missing path raises its own message
    if empty:
        raise InputError(f"No images or videos were found in {', '.join(empty)}: nothing to index")
    eng = _engine(args, speed=args.speed, hw_decode=args.hw_decode)
    note_device(eng)
    failed = indexed = 0
    earlier = {src.info.id for src in eng.library()}  # ids are never reused: a kept entry keeps its id
    with stop_on_ctrl_c() as stop:  # all the paths in one run: a file given twice is processed once
        report = drain(eng.index(list(args.paths), args.categories, args.sample_ft, args.camera, args.force, cancel=stop,
                                 max_frames=args.max_frames), args.quiet, on_file=lambda r: None,
                       max_frames=args.max_frames)
    for res in report.files:
        if res.error:
            failed += 1
            print(f"failed  {res.path}: {res.error}")
        else:
            indexed += 1
            n = len(eng.library_tracks(res.path))
            state = eng.library_status(res.path)  # what the library holds now, as `library list` says it
            if state.source_id in earlier:  # this run ended short of the one indexed before, which is kept
                why = f" ({state.status}: the earlier, fuller index is kept; this run went less far)"
            else:
                why = f" ({state.status}: {state.reason})" if state.status != "done" else ""
            print(f"indexed {res.path}: {n} track(s){why}")
    total = len(eng.library())
    if not report.files and not stop():  # each path held media: all of them were indexed in full before
        print("nothing new to index: those files are indexed already, unchanged (--force processes them again)")
    print(f"{indexed} file(s) indexed, {failed} failed; the library holds {total} file(s) ({eng.footage_path})")
    eng.close()
    if stop():
        print("stopped by Ctrl-C: the file in progress was indexed as partial (unless it had been indexed further "
              "before); the same command goes on with the files not indexed in full (a partial one from its start)",
              file=sys.stderr)
        return 130
    return 1 if failed and not indexed else 0


def _find(args) -> int:
    from Algorithm.outer_api import clock_text, export_csv, export_json, media_kind

    eng = _engine(args, existing=True)
    queries = [str(q) for q in args.queries]
    A.distinct_outputs(args.out, args.csv)
    for dest in (args.out, args.csv):
        if dest:
            eng.check_output(dest, queries)
    report = eng.find(queries, args.threshold, args.sources, args.after, args.before, args.categories, args.box)
    _note_unsearched(eng, report.settings.categories)
    cat = report.settings.categories[0]  # the category find searches a photo among
    for q in queries if args.box is None else []:
        if media_kind(q) == "image" and eng.check_photo(q, (cat,)).verdicts[cat].whole:
            print(f"note: no {cat} was detected in {Path(q).name}: it was searched whole, as a close crop of one "
                  f"{cat} (--box chooses the part to search)", file=sys.stderr)
    for res in report.files:
        if res.error:
            continue
        if res.warning and res.sightings:
            print(f"warning: {res.path}: {res.warning}", file=sys.stderr)
        for s in res.sightings:
            segs = ", ".join((f"d={max(0.0, g.best_distance):.3f}" if res.kind == "image" else  # a photo has no time
                              f"{g.start_time:.1f}-{g.end_time:.1f}s (d={max(0.0, g.best_distance):.3f})") for g in s.segments)
            print(f"{res.path}: {s.label}: {segs}")
    if args.journey:
        for j in eng.journeys(queries, threshold=args.threshold, sources=args.sources, after=args.after,
                              before=args.before, categories=args.categories, box=args.box):
            print(f"journey of {j.label} across {len(j.cameras)} camera(s):")
            for st in j.stops:
                print(f"    {clock_text(st.clock)} (by {st.clock_from}) [{st.camera}] {Path(st.source).name} "
                      f"{st.start_time:.1f}-{st.end_time:.1f}s best at {st.best_time:.1f}s (d={max(0.0, st.distance):.3f})")
    if args.out:
        print(f"results written to {export_json(report, args.out)}")
    if args.csv:
        print(f"sightings written to {export_csv(report, args.csv)}")
    n = sum(len(s.segments) for r in report.files for s in r.sightings)
    print(f"{n} sighting(s) in {len(report.files)} indexed file(s)")
    eng.close()
    return 0


def _note_unsearched(eng, categories) -> None:
    """Tracks the active model never embedded are not searched: 0 sightings must not read as "nobody there"."""
    for cat, (lacking, total) in eng.library_unsearched(tuple(categories)).items():
        print(f"warning: {lacking} of {total} indexed {cat} tracks have no features of the active model "
              f"'{eng.reid_model_name(cat)}' and were not searched: run `python -m Algorithm library reembed "
              f"--category {cat}`", file=sys.stderr)


def _library(args) -> int:
    eng = _engine(args, existing=True)
    try:
        if args.action == "list":
            rows = eng.library()
            if args.json:
                print(json.dumps([{"path": r.info.path, "status": r.status, "reason": r.reason, "camera": r.info.camera,
                                   "tracks": r.info.n_tracks, "duration_s": r.info.duration_s,
                                   "indexed_at": r.info.indexed_at, "settings": json.loads(r.info.settings),
                                   "time_caution": r.info.time_caution}
                                  for r in rows], ensure_ascii=False, indent=1))
            for r in rows if not args.json else []:
                why = f" ({r.reason})" if r.reason else ""
                note = f"\n         note: {r.info.time_caution}" if r.info.time_caution else ""
                print(f"{r.status:8} {r.info.n_tracks:5} tracks  [{r.info.camera}] {r.info.path}{why}{note}")
            if not rows and not args.json:
                print(f"the library is empty ({eng.footage_path}): index footage with `python -m Algorithm index PATH`")
            return 0
        if args.action == "remove":
            n = eng.remove_from_library(args.path)
            if not n:
                print(f"{args.path} is not in the library, nor any file under it")
                return 1
            print(f"removed {args.path} from the library" + (f" ({n} files)" if n > 1 else ""))
            return 0
        done, lacking = eng.reembed_library(args.category, progress=lambda k, t: print(f"\rre-embedding {k}/{t}", end=""))
        print(f"\n{done} track(s) embedded with '{eng.reid_model_name(args.category)}'"
              + (f"; {lacking} have no stored crop: index their files again (--force)" if lacking else ""))
        return 0
    finally:
        eng.close()


def _similar(args) -> int:
    from Algorithm.errors import InputError

    if (args.track is None) == (args.image is None):
        raise InputError("Give a track id or --image, one of them")
    eng = _engine(args, existing=True)
    rows = eng.find_similar(args.track, args.image, args.box, args.category, args.top)
    _note_unsearched(eng, (args.category,))
    cautions = {p: eng.library_caution(p) for p in {r.track.source_path for r in rows}}
    if args.json:
        print(json.dumps([{"track": r.track.id, "distance": round(r.distance, 4), "source": r.track.source_path,
                           "camera": r.track.camera, "start_time": round(r.track.start_s, 3),
                           "end_time": round(r.track.end_s, 3), "best_frame": r.track.best_frame,
                           **({"warning": cautions[r.track.source_path]} if cautions[r.track.source_path] else {})}
                          for r in rows], indent=1))
    else:
        for r in rows:
            print(f"track {r.track.id:6}  d={max(0.0, r.distance):.3f}  [{r.track.camera}] "
                  f"{Path(r.track.source_path).name} {r.track.start_s:.1f}-{r.track.end_s:.1f}s")
        for path, caution in sorted(cautions.items()):
            if caution:
                print(f"warning: {path}: {caution}", file=sys.stderr)
    eng.close()
    return 0
