"""The sightings CSV sink: one row per video segment or per matched box in a photo, readable by Excel."""
from __future__ import annotations

import csv
from pathlib import Path

from Algorithm.sinks.atomic import atomic_file
from Algorithm.types import SearchReport

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A text cell Excel shows as text: one starting like a formula (a label "=HYPERLINK(...)") gets a leading
    apostrophe (OWASP's advice against CSV injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


COLUMNS = ["file", "type", "label", "identity_id", "start_time", "end_time", "start_frame", "end_frame",
           "best_frame", "distance", "x1", "y1", "x2", "y2", "error"]


def write_csv(report: SearchReport, dest: str | Path) -> Path:
    dest = Path(dest)
    with atomic_file(dest) as tmp, open(tmp, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads UTF-8
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for f in report.files:
            if f.error:
                w.writerow([_text(f.path), f.kind] + [""] * (len(COLUMNS) - 3) + [_text(f.error)])
            elif f.kind == "image":
                for fr in f.frames:
                    for b in fr.matches:
                        w.writerow([_text(f.path), "image", _text(b.match.label), b.match.identity_id, "", "", 0, 0, 0,
                                    round(max(0.0, b.match.distance), 4), *[round(v, 1) for v in b.box], ""])
            else:
                for s in f.sightings:
                    for g in s.segments:
                        w.writerow([_text(f.path), "video", _text(s.label), s.identity_id, round(g.start_time, 3),
                                    round(g.end_time, 3), g.start_frame, g.end_frame, g.best_frame,
                                    round(max(0.0, g.best_distance), 4), *[round(v, 1) for v in g.best_box], ""])
    return dest
