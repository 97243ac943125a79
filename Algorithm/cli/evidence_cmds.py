"""Command line of the evidence export:

    python -m Algorithm export-evidence results.json --out CASE [--identity LABEL ...] [--blur] [--gallery G]

Reads a results file (`search --out`), and writes a case folder with the sightings of the given identities (all
of them when none is given): clips, best frames, registration photos, report.html, results and a sha256 manifest.
"""
from __future__ import annotations

from pathlib import Path

COMMANDS: set[str] = {"export-evidence"}


def add_parsers(sub) -> None:
    e = sub.add_parser(
        "export-evidence",
        help="write a case folder (clips, best frames, photos, report.html, sha256 manifest) from a results file",
        description="Exports the sightings of a results file (python -m Algorithm search --out results.json) as a case "
                    "folder: an H.264 clip and the best frame of each sighting segment, the identities' registration "
                    "photos from the gallery, the results as JSON and CSV, report.html, and manifest.json / SHA256SUMS "
                    "with the sha256 of every file. The searched files must still be where they were searched.",
    )
    e.add_argument("results", type=Path, help="results JSON written by `search --out`")
    e.add_argument("--out", type=Path, required=True, help="the case folder to create (new, or empty)")
    e.add_argument("--identity", action="append", metavar="LABEL",
                   help="export this identity's sightings; repeatable (default: every identity in the results)")
    e.add_argument("--blur", action="store_true",
                   help="pixelate every other person and vehicle the detector finds in the exported frames")
    e.add_argument("--gallery", type=Path, help="gallery of the registration photos (default: the app's gallery)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from tqdm import tqdm

    from Algorithm.outer_api import Engine, Settings, read_results_json, select_sightings

    report = read_results_json(args.results)
    selection = select_sightings(report, args.identity)
    eng = Engine(args.gallery, Settings(keep_frames=False))
    bar = None if args.quiet else tqdm(desc="exporting", unit="frame", leave=False)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        out = eng.export_evidence(report, selection, args.out, blur_others=args.blur, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        eng.close()
    n = sum(len(s.segments) for f in report.files for s in f.sightings
            if any(sel.path == f.path and sel.identity_id == s.identity_id for sel in selection))
    print(f"evidence of {n} sighting segment(s) written to {out} (open {out / 'report.html'})")
    return 0
