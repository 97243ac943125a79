"""The results JSON sink (layout: `SearchReport.to_json`, format "reid-app-results" version 1)."""
from __future__ import annotations

import json
from pathlib import Path

from Algorithm.types import SearchReport


def write_json(report: SearchReport, dest: str | Path) -> Path:
    """Writes atomically (a `.part` file renamed at the end): a crash never leaves half a file."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(dest)
    return dest
