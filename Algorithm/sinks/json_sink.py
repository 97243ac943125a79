"""The results JSON sink (layout: `SearchReport.to_json`, format "reid-app-results" version 1) and its reader."""
from __future__ import annotations

import json
from pathlib import Path

from Algorithm.errors import InputError
from Algorithm.settings import Settings
from Algorithm.sinks.atomic import atomic_file
from Algorithm.types import (
    BoxResult,
    FileResult,
    FrameResult,
    Match,
    ModelSummary,
    ReidModelInfo,
    SearchReport,
    Segment,
    Sighting,
    Stats,
)

FORMAT, VERSION = "reid-app-results", 1


def write_json(report: SearchReport, dest: str | Path) -> Path:
    """Writes atomically (a `.part` file renamed at the end): a crash never leaves half a file."""
    dest = Path(dest)
    with atomic_file(dest) as tmp:
        tmp.write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False), encoding="utf-8")
    return dest


def read_results_json(path: str | Path) -> SearchReport:
    """A results file written by `write_json`, back as the SearchReport it was written from (what the file keeps:
    matched boxes only, no pixels, no gallery entry ids). InputError, in words, for anything else."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"File not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"Not a results file (not readable JSON): {path.name}: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"Not a results file of this app: {path.name}")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise InputError(f"{path.name} was written by a newer version of the app (results format "
                         f"{data.get('version')}); update the app to open it")
    try:
        return _report(data)
    except KeyError as e:  # a damaged or hand-edited file: said in words
        raise InputError(f"The results file {path.name} is damaged: its {e.args[0]!r} entry is missing") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise InputError(f"The results file {path.name} is damaged: a value is not of the right kind ({e})") from None


def _report(d: dict) -> SearchReport:
    s = d["settings"]
    thresholds = {str(c): float(v) for c, v in (s.get("thresholds") or {}).items()}
    settings = Settings(device=s["device"], sample_ft=int(s["sampleFt"]), threshold=s.get("threshold"),
                        tracking=bool(s["tracking"]), tracker=s.get("tracker", Settings.tracker),
                        categories=tuple(s["categories"]), speed=s.get("speed", "exact"),
                        hw_decode=bool(s.get("hw_decode", False)))
    settings.validate()
    return SearchReport(str(d["root"]), settings, _models(d.get("models") or {}, thresholds), thresholds,
                        [_file(f) for f in d["files"]], str(d["created"]), origin=str(d.get("origin", "search")))


def _models(d: dict, thresholds: dict[str, float]) -> ModelSummary | None:
    if not d:
        return None
    reid = {c: ReidModelInfo(c, m["model"], m["title"], m["trained_on"], bool(m["stand_in"]), thresholds.get(c, 0.0),
                             thresholds.get(c, 0.0))  # the file keeps the threshold used, not the model's own
            for c, m in d.items() if c != "detector"}
    return ModelSummary(str(d.get("detector", "")), str(d.get("detector", "")), reid)


def _box(d: dict) -> BoxResult:
    match = Match(int(d["identity_id"]), str(d["label"]), float(d["distance"])) if "identity_id" in d else None
    return BoxResult(tuple(float(v) for v in d["box"]), float(d["score"]), str(d["category"]), int(d["track_id"]), match,
                     bool(d.get("interpolated", False)))


def _segment(d: dict) -> Segment:
    return Segment(int(d["start_frame"]), int(d["end_frame"]), float(d["start_time"]), float(d["end_time"]),
                   int(d["best_frame"]), float(d["best_distance"]), tuple(float(v) for v in d["best_box"]),
                   int(d.get("hits", 1)), float(d["best_time"]) if d.get("best_time") is not None else None)


def _file(d: dict) -> FileResult:
    path, kind = str(d["path"]), str(d["type"])
    count = int(d.get("frame_count", 0))
    frames = [FrameResult(path, int(f["frame"]), float(f["time"]), [_box(b) for b in f["matches"]], None, count)
              for f in d["frames"]]
    sightings = [Sighting(int(s["identity_id"]), str(s["label"]), [_segment(g) for g in s["segments"]])
                 for s in d["sightings"]]
    known = Stats.__dataclass_fields__
    stats = Stats(**{k: v for k, v in (d.get("stats") or {}).items() if k in known})
    return FileResult(path, kind, int(d["width"]), int(d["height"]), float(d.get("fps", 0.0)), count, frames, sightings,
                      stats, d.get("error"), bool(d.get("stopped", False)), d.get("warning"), str(d.get("fingerprint") or ""))
