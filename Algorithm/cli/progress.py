"""Progress and per-file lines of the commands that process footage (search, index)."""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from tqdm import tqdm


@contextmanager
def stop_on_ctrl_c() -> Iterator[Callable[[], bool]]:
    """A run's cancel(): the first Ctrl-C asks it to stop at the next frame, so the file in progress ends as stopped
    and what the run found so far is still written (--out, the footage index); a second one interrupts at once."""
    asked = threading.Event()

    def on_sigint(_sig, _frame):
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        tqdm.write("stopping after this frame; what was found so far is kept (Ctrl-C again to quit at once)",
                   file=sys.stderr)

    try:
        old = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread (an embedding program): Ctrl-C keeps its default meaning
        yield asked.is_set
        return
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, old)


def note_device(eng) -> None:
    """Tells the user, on stderr, when the device asked for cannot be used (runs that go on on the CPU)."""
    if device := eng.device_caution():
        print(f"note: {device}", file=sys.stderr)


def note_damage(eng, footage: bool = False) -> None:
    """Warns, on stderr, that the gallery (or with `footage`, the footage index) is damaged: what is readable is
    used, changes are refused."""
    for damage in (eng.gallery_caution, eng.footage_caution if footage else ""):
        if damage:
            print(f"warning: {damage}", file=sys.stderr)


def print_file(res) -> None:
    if res.error:
        tqdm.write(f"skipped {res.path}: {res.error}")
        return
    if res.kind == "image":
        found = [b.match.label for f in res.frames for b in f.matches]
        tqdm.write(f"{res.path}: " + (", ".join(found) if found else "no match"))
        return
    tqdm.write(f"{res.path}: {len(res.sightings)} identities, ReID crops {res.stats.reid_crops} "
               f"for {res.stats.detections} boxes")
    if res.warning:
        tqdm.write(f"    warning: {res.warning}")
    if res.time_caution:
        tqdm.write(f"    note: {res.time_caution}")
    for s in res.sightings:
        segs = ", ".join(f"{g.start_time:.1f}-{g.end_time:.1f}s (d={max(0.0, g.best_distance):.3f})" for g in s.segments)
        tqdm.write(f"    {s.label}: {segs}")


def drain(events, quiet: bool = False, on_file=print_file, max_frames: int | None = None):
    """Runs a search's (or an index run's) events with a progress bar per file; returns the report. `max_frames`:
    the run's limit per video, so a bar ends full where the run stops."""
    from Algorithm.outer_api import FileDone, FileStarted, Finished, FrameDone

    bar, report = None, None
    for ev in events:
        if isinstance(ev, FileStarted):
            if bar is not None:
                bar.close()
            bar = None if quiet else tqdm(desc=f"[{ev.index + 1}/{ev.total}] {ev.path.name}", unit="frame", leave=False)
        elif isinstance(ev, FrameDone) and bar is not None:
            fr = ev.result
            total = min(fr.total_frames, max_frames) if fr.total_frames and max_frames else fr.total_frames
            if total and bar.total != total:
                bar.total = total
            bar.n = fr.frame_index + 1
            bar.refresh()
        elif isinstance(ev, FileDone):
            on_file(ev.result)
        elif isinstance(ev, Finished):
            report = ev.report
    if bar is not None:
        bar.close()
    return report
