"""Command line on the same API as the GUI: python -m Algorithm register|gallery|search|index|find|models|info ..."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from Algorithm.cli import args as A
from Algorithm.rules import CATEGORIES, CHANNEL_ORDERS, IMAGENET_MEAN, IMAGENET_STD, TRACKERS


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m Algorithm", description="Person and vehicle re-identification")
    sub = ap.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("register", help="register a person or vehicle from one or several photos of it",
                       description="Stores photos of one identity. Each photo must show one person or vehicle of the "
                       "category, or be a close crop of one (then it is used whole). With several photos, each one's "
                       "result or error is printed; the exit status is non-zero if any photo was not stored.")
    A.add_gallery(r)
    r.add_argument("photos", type=Path, nargs="+", metavar="photo")
    r.add_argument("--label", required=True)
    r.add_argument("--category", choices=CATEGORIES, default="person")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--box", type=A.box, help="x1,y1,x2,y2 of the one to register, when the photo shows several "
                   "(one photo only)")
    g.add_argument("--whole", action="store_true", help="the photos are already tight crops: use them whole")

    gl = sub.add_parser("gallery", help="list, rename or delete gallery contents; backup and restore")
    A.add_gallery(gl)
    gsub = gl.add_subparsers(dest="action", required=True)
    ls = gsub.add_parser("list")
    ls.add_argument("--filter", default="")
    ls.add_argument("--json", action="store_true")
    rn = gsub.add_parser("rename")
    rn.add_argument("label", help="current label")
    rn.add_argument("new_label")
    de = gsub.add_parser("delete", help="delete an identity (by label) or one photo (--entry ID)")
    de.add_argument("label", nargs="?")
    de.add_argument("--entry", type=int)
    mg = gsub.add_parser("merge", help="make two identities one: the photos of OTHER move to KEEP, OTHER is deleted")
    mg.add_argument("keep", metavar="LABEL_KEEP", help="the identity that stays (its label is kept)")
    mg.add_argument("other", metavar="LABEL_OTHER", help="the identity whose photos move, then removed")
    bk = gsub.add_parser("backup")
    bk.add_argument("dest", type=Path)
    bk.add_argument("--force", action="store_true", help="replace DEST when it exists")
    rs = gsub.add_parser("restore")
    rs.add_argument("src", type=Path)

    s = sub.add_parser("search", help="find gallery identities in an image, a video or a folder")
    A.add_gallery(s)
    s.add_argument("path", type=Path)
    s.add_argument("--out", type=Path, help="write results as JSON")
    s.add_argument("--csv", type=Path, help="write sightings as CSV")
    s.add_argument("--threshold", type=A.threshold, help="match distance (1 - cosine), one value for every searched category "
                   "(--categories); default: each category's model's own")
    s.add_argument("--sample-ft", type=A.sample_ft, default=1, help="process every k-th video frame (tracking wants 1)")
    s.add_argument("--no-tracking", action="store_true")
    s.add_argument("--tracker", choices=TRACKERS, default="bytetrack")
    A.add_speed(s)
    A.add_hw_decode(s)
    s.add_argument("--categories", type=A.categories, default="person", help="comma list of: " + ",".join(CATEGORIES))
    A.add_device(s)
    s.add_argument("--max-frames", type=A.positive_int, help="stop each video after this many frames")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    m = sub.add_parser("models", help="check, provision, add or switch models (models/models.json)")
    msub = m.add_subparsers(dest="action", required=True)
    msub.add_parser("check", help="every model file present and matching its sha256")
    msub.add_parser("list", help="the models of the config and which one serves each category")
    fe = msub.add_parser("fetch", help="download (or copy --from a folder) the model files")
    fe.add_argument("--from", dest="source", type=Path, help="copy from this folder instead of downloading")
    ad = msub.add_parser("add", help="add your own ONNX ReID model (validated on a sample crop)")
    ad.add_argument("file", type=Path)
    ad.add_argument("--name", required=True, type=A.model_name)
    ad.add_argument("--title", default="")
    ad.add_argument("--input", default="256x128", help="HxW, e.g. 256x128 (people) or 256x256 (vehicles)")
    ad.add_argument("--channel-order", choices=CHANNEL_ORDERS, default="RGB")
    ad.add_argument("--mean", default=",".join(map(str, IMAGENET_MEAN)))
    ad.add_argument("--std", default=",".join(map(str, IMAGENET_STD)))
    ad.add_argument("--normalized-in-graph", action="store_true", help="the graph does its own mean/std")
    ad.add_argument("--threshold", type=A.threshold, required=True, help="match distance (1 - cosine)")
    ad.add_argument("--categories", type=A.categories, default="person", help="comma list of: " + ",".join(CATEGORIES))
    ad.add_argument("--sample", type=Path, help="a crop to validate the model on")
    us = msub.add_parser("use", help="make a model serve a category; re-embeds the gallery's photos")
    A.add_gallery(us)
    us.add_argument("name")
    us.add_argument("--category", choices=CATEGORIES, required=True)

    sub.add_parser("info", help="devices and which model serves which category")
    from Algorithm.cli import evaluate_cmds as cli_eval
    from Algorithm.cli import evidence_cmds as cli_evidence
    from Algorithm.cli import export_cmds as cli_export
    from Algorithm.cli import footage_cmds as cli_footage

    cli_eval.add_parsers(sub)
    cli_export.add_parsers(sub)
    cli_evidence.add_parsers(sub)
    cli_footage.add_parsers(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import sqlite3

    from Algorithm.errors import ReIdError

    try:
        return _run(args)
    except ReIdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except sqlite3.DatabaseError as e:  # a gallery or footage index damaged on disk (others raise their own errors)
        print(f"error: a database file is damaged or is not one ({e}); restore a backup (gallery restore)",
              file=sys.stderr)
        return 2
    except OSError as e:  # a place that cannot be read or written: one line, not a traceback
        print(f"error: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
        return 1


def _engine(args, **settings):
    from Algorithm.errors import ReIdError
    from Algorithm.outer_api import Engine, Settings

    try:
        s = Settings().with_(keep_frames=False, **settings)
    except ValueError as e:  # a value the argument types let through: still a usage error (status 2), not a traceback
        raise ReIdError(str(e)) from None
    from Algorithm.cli.progress import note_damage

    eng = Engine(args.gallery, s)
    note_damage(eng)
    return eng


def _find_identity(eng, label: str):
    from Algorithm.errors import GalleryError
    from Algorithm.rules import label_key

    for i in eng.identities():
        if label_key(i.label) == label_key(label):
            return i
    raise GalleryError(f"No identity labelled '{label}'")


def _run(args) -> int:
    if args.cmd == "models":
        return _models(args)

    if args.cmd == "info":
        import tempfile

        from Algorithm.outer_api import Engine, device_options

        for o in device_options():
            print(f"device {o.name}: {'available' if o.available else 'unavailable: ' + o.reason}")
        with tempfile.TemporaryDirectory() as tmp:  # models only: opening the default gallery would create it
            eng = Engine(Path(tmp) / "gallery.db")
            info = eng.model_info()
            eng.close()
        print(f"detector: {info.detector_title} ({info.detector}) on {info.detector_provider}")
        for m in info.reid.values():
            stand_in = "  [stand-in: not trained for this category]" if m.stand_in else ""
            print(f"{m.category}: {m.title} ({m.model}), {m.dim}-d on {m.provider}, threshold {m.threshold:g} "
                  f"(model default {m.default_threshold:g}); trained on: {m.trained_on or 'not stated'}{stand_in}")
            if m.quality:
                print(f"    measured: {m.quality}")
        return 0

    if args.cmd == "register":
        return _register(args)

    if args.cmd == "gallery":
        eng = _engine(args)
        if args.action == "list":
            rows = eng.identities(args.filter)
            if args.json:
                print(json.dumps([{"id": i.id, "label": i.label, "category": i.category, "photos": i.n_entries,
                                   "created": i.created} for i in rows], ensure_ascii=False, indent=1))
            else:
                for i in rows:
                    photos = ", ".join(f"#{e.id}" for e in eng.entries(i.id))
                    print(f"{i.id:>4}  {i.label:<24} {i.category:<8} {i.n_entries} photo(s) [{photos}]  {i.created}")
                print(f"{len(rows)} identities")
        elif args.action == "rename":
            ident = _find_identity(eng, args.label)
            eng.rename(ident.id, args.new_label)
            print(f"renamed '{ident.label}' to '{args.new_label}'")
        elif args.action == "delete":
            if args.entry is not None:
                if args.label:  # both given: the photo must be that identity's (a wrong pair deleted someone else)
                    ident = _find_identity(eng, args.label)
                    if args.entry not in {e.id for e in eng.entries(ident.id)}:
                        print(f"error: photo #{args.entry} is not one of '{ident.label}''s photos "
                              f"({', '.join(f'#{e.id}' for e in eng.entries(ident.id))}); nothing was deleted",
                              file=sys.stderr)
                        return 2
                gone = eng.delete_entry(args.entry)
                print(f"deleted photo #{args.entry}" + (" and its identity (it was the last photo)" if gone else ""))
            elif args.label:
                ident = _find_identity(eng, args.label)
                eng.delete_identity(ident.id)
                print(f"deleted '{ident.label}' and its {ident.n_entries} photo(s)")
            else:
                print("error: give a label or --entry ID", file=sys.stderr)
                return 2
        elif args.action == "merge":
            keep, other = _find_identity(eng, args.keep), _find_identity(eng, args.other)
            m = eng.merge_identities(keep.id, other.id)
            print(f"merged '{m.removed_label}' into '{m.label}': {m.moved} photo(s) moved, '{m.label}' now has "
                  f"{m.n_entries} photo(s); '{m.removed_label}' was removed")
        elif args.action == "backup":
            if args.dest.is_file() and not args.force:  # a mistyped name must not overwrite a file (or an older backup)
                print(f"error: {args.dest} exists; add --force to replace it", file=sys.stderr)
                return 2
            print(f"gallery saved to {eng.backup(args.dest)}")
        elif args.action == "restore":
            eng.restore(args.src)
            print(f"gallery restored from {args.src}")
        return 0

    if args.cmd == "search":
        return _search(args)
    from Algorithm.cli import evaluate_cmds as cli_eval
    from Algorithm.cli import evidence_cmds as cli_evidence
    from Algorithm.cli import export_cmds as cli_export
    from Algorithm.cli import footage_cmds as cli_footage

    for ext in (cli_eval, cli_export, cli_footage, cli_evidence):
        if args.cmd in ext.COMMANDS:
            return ext.run(args)
    return 2


def _register(args) -> int:
    from Algorithm.errors import WrongCategoryError

    if args.box is not None and len(args.photos) > 1:
        print("error: --box picks a box in one photo; give one photo with it", file=sys.stderr)
        return 2
    eng = _engine(args)

    def said(r) -> str:
        how = r.how if r.whole_image else "box " + ",".join(str(int(round(v))) for v in r.box)
        state = "new identity" if r.new_identity else "photo added to existing identity"
        return f"registered '{r.label}' ({r.category}; {how}): {state} #{r.identity_id}, photo #{r.entry_id}"

    if len(args.photos) == 1:
        try:
            r = eng.register(args.photos[0], args.label, args.category, box=args.box, whole=args.whole)
        except WrongCategoryError as e:
            print(f"error: {e} Use --category {e.seen}.", file=sys.stderr)
            return 2
        print(said(r))
        return 0

    def report(o) -> None:
        if o.ok:
            print(f"{o.source}: {said(o.result)}", flush=True)
        else:
            hint = f" Use --category {o.suggested_category}." if o.suggested_category else ""
            print(f"{o.source}: error: {o.error}{hint}", file=sys.stderr, flush=True)

    outcomes = eng.register_many(args.photos, args.label, args.category, whole=args.whole, progress=report)
    done = sum(o.ok for o in outcomes)
    print(f"{done} of {len(outcomes)} photos registered as '{args.label}'" + ("" if done == len(outcomes) else
          f"; {len(outcomes) - done} not stored (see the errors above)"))
    return 0 if done == len(outcomes) else 2


def _floats(text: str, n: int, what: str) -> list[float]:
    from Algorithm.errors import ReIdError

    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != n:
        raise ReIdError(f"{what} needs {n} comma-separated numbers, got {text!r}")
    return vals


def _models(args) -> int:
    from Algorithm.models import provision

    if args.action in ("check", "fetch"):
        return provision.main(args.action, getattr(args, "source", None))
    if args.action == "list":
        from Algorithm.models.registry import load_registry

        reg = load_registry()
        for spec in reg.models.values():
            serves = [c for c, n in reg.reid.items() if n == spec.name] + (["detector"] if spec.name == reg.detector else [])
            print(f"{spec.name:<24} {spec.kind:<8} {'active: ' + ','.join(serves) if serves else '':<24} {spec.title}")
        return 0
    from Algorithm.outer_api import Engine, Settings

    if args.action == "add":
        from Algorithm.errors import ReIdError

        try:
            h, w = (int(v) for v in args.input.lower().split("x"))
        except ValueError:
            raise ReIdError(f"--input is HxW, e.g. 256x128, not {args.input!r}") from None
        spec = {
            "title": args.title or args.name, "file": str(args.file.resolve()), "input_size": [h, w],
            "channel_order": args.channel_order, "mean": _floats(args.mean, 3, "--mean"),
            "std": _floats(args.std, 3, "--std"), "normalized_in_graph": args.normalized_in_graph,
            "threshold": args.threshold, "categories": list(args.categories),
        }
        eng = Engine(settings=Settings(keep_frames=False))
        info = eng.add_model(args.name, spec, args.sample)
        print(f"added '{args.name}': {info.dim}-d features on {info.provider}. "
              f"Make it serve a category with: python -m Algorithm models use {args.name} --category ...")
        return 0
    eng = _engine(args)
    tracks = [0]

    def on_track(k: int, t: int) -> None:
        tracks[0] = t
        print(f"\rre-embedding the footage library: track {k}/{t}", end="")

    n = eng.set_active_model(args.category, args.name,
                             progress=lambda k, t: print(f"\rre-embedding the gallery: photo {k}/{t}", end=""),
                             library_progress=on_track)
    print(f"\n'{args.name}' now serves {args.category}; {n} photo(s)"
          + (f" and {tracks[0]} library track(s)" if tracks[0] else "") + " re-embedded")
    return 0


def _search(args) -> int:
    from Algorithm.cli.progress import drain, note_device, stop_on_ctrl_c
    from Algorithm.outer_api import InputError, export_csv, export_json, list_media

    if not list_media(args.path):  # a missing path or another file type raises its own message
        raise InputError(f"No images or videos were found in {args.path}: nothing to search")
    eng = _engine(args, threshold=args.threshold, sample_ft=args.sample_ft, tracking=not args.no_tracking,
                  tracker=args.tracker, categories=args.categories, device=args.device, speed=args.speed,
                  hw_decode=args.hw_decode)
    A.distinct_outputs(args.out, args.csv)
    for dest in (args.out, args.csv):  # before the search: a wrong place must not cost the whole run
        if dest:
            eng.check_output(dest, [args.path])
    caution = eng.speed_caution()
    if caution:
        print(f"note: {caution} (--speed exact)", file=sys.stderr)
    note_device(eng)
    if eng.settings.index_footage and eng.footage_caution:
        print(f"warning: {eng.footage_caution}", file=sys.stderr)
    left_out = eng.identities_not_searched()
    if left_out:
        what = ", ".join(f"{n} {c} identit{'ies' if n != 1 else 'y'}" for c, n in left_out.items())
        print(f"note: the gallery also holds {what}, not searched for (--categories "
              f"{','.join(sorted({*eng.settings.categories, *left_out}))})", file=sys.stderr)
    if not eng.identities():  # a mistyped --gallery opens a new, empty one: "no match" would mislead
        print(f"note: the gallery {eng.gallery_path} has no identities yet, so nobody can be matched "
              f"(register someone first)", file=sys.stderr)
    with stop_on_ctrl_c() as stop:
        report = drain(eng.search(args.path, cancel=stop, max_frames=args.max_frames), args.quiet,
                       max_frames=args.max_frames)
    if args.out:
        print(f"results written to {export_json(report, args.out)}")
    if args.csv:
        print(f"sightings written to {export_csv(report, args.csv)}")
    n_err = len(report.errors)
    if stop():
        part = sum(f.stopped for f in report.files)
        print(f"stopped by Ctrl-C: {len(report.files)} file(s) searched" + (", the last one in part" if part else ""),
              file=sys.stderr)
        return 130
    print(f"{len(report.files)} file(s) searched, {n_err} skipped with errors")
    return 1 if report.files and n_err == len(report.files) else 0
