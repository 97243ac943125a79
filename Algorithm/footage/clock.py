"""When a file's recording began, as well as it can be told without a clock in the video: the date and time in its
name, as recorders and DVR exports write them (cam1_20261201_143005.mp4, 2026-12-01 14.30.05.mp4), else its
modification time less its duration (a recorder writes its file to the end; a copy gets the copy's time, which is
why the name comes first)."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# year, month, day, hour, minute, second, with or without separators; not inside a longer run of digits
_STAMP = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(\d\d)[-_.]?(\d\d)[-_.T ]?(\d\d)[-_.:hH]?(\d\d)[-_.:mM]?(\d\d)(?!\d)")


@dataclass(frozen=True)
class RecordingStart:
    at: float  # seconds since the epoch (a time in a name is read as local time, as recorders write it)
    source: str  # "file name" or "file time": how far to trust it


def stamp_in_name(path: str | Path) -> float | None:
    """The first valid date and time in the file's name (local time), as seconds since the epoch; None if none."""
    for m in _STAMP.finditer(Path(path).stem):
        try:
            return datetime(*map(int, m.groups())).timestamp()
        except ValueError:  # 20261399_...: digits that are not a date
            continue
    return None


def recording_start(path: str | Path, mtime_ns: int, duration_s: float | None) -> RecordingStart:
    named = stamp_in_name(path)
    if named is not None:
        return RecordingStart(named, "file name")
    return RecordingStart(mtime_ns / 1e9 - (duration_s or 0.0), "file time")


def clock_text(at: float) -> str:
    """A local date and time to show, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
