"""Evidence export: a case folder for chosen sightings of a search.

    CASE/
      report.html            what was found where, models, thresholds, settings, source sha256, app version
      clips/NN_*.mp4         each chosen segment (H.264, browser-playable) with PAD_S before and after, boxes drawn
      frames/NN_*.jpg        each segment's best frame, boxes drawn
      photos/*.jpg           the identities' registration photos (as in the gallery at export time)
      results.json, sightings.csv   the search's results for the case's identities in the case's files
      manifest.json, SHA256SUMS     sha256 of every other file

The folder is written under a temporary name beside `dest` and renamed at the end: an error or a cancel leaves
nothing behind. Everything that can be checked beforehand (selection, source files) is, before any writing.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from Algorithm.errors import InputError
from Algorithm.media import VideoReader, encode_jpeg, read_image, source_problem
from Algorithm.models.checksum import sha256_of
from Algorithm.sinks.anonymize import others, pixelate
from Algorithm.sinks.case_report import CaseIdentity, CaseSegment, CaseSummary, SourceFile, write_html
from Algorithm.sinks.csv_sink import write_csv
from Algorithm.sinks.draw import FrameBoxes, draw_boxes
from Algorithm.sinks.h264 import H264Writer
from Algorithm.sinks.json_sink import write_json
from Algorithm.sinks.provenance import app_version, write_manifest
from Algorithm.types import FileResult, FrameResult, SearchReport, Segment, Sighting

PAD_S = 1.0  # seconds of video kept before and after each segment: how the person came and went


@dataclass(frozen=True)
class EvidenceSelection:
    """One sighting to export: the file, the identity, and which of its segments (indices into
    `Sighting.segments`; empty: all of them)."""

    path: str
    identity_id: int
    segments: tuple[int, ...] = ()


@dataclass(frozen=True)
class RegistrationPhoto:
    """A stored photo (JPEG) of a gallery identity, shown in the report."""

    identity_id: int
    label: str
    entry_id: int
    jpeg: bytes


Detect = Callable[[np.ndarray], np.ndarray]  # BGR frame -> (N, 4) xyxy boxes of everyone and every vehicle
Progress = Callable[[int, int], None]


@dataclass
class _Item:
    n: int
    file: FileResult
    sighting: Sighting
    segment: Segment
    category: str


def select_sightings(report: SearchReport, labels: Iterable[str] | None = None) -> list[EvidenceSelection]:
    """Every sighting (all its segments) of the given labels (case-insensitive; None: every identity) in the
    report's files. InputError naming the labels that were not found."""
    wanted = None if labels is None else {lb.strip().lower() for lb in labels if lb.strip()}
    out, seen = [], set()
    for f in report.files:
        for s in f.sightings if not f.error else []:
            if wanted is None or s.label.lower() in wanted:
                out.append(EvidenceSelection(f.path, s.identity_id))
                seen.add(s.label.lower())
    missing = sorted((wanted or set()) - seen)
    if missing:
        found = sorted({s.label for f in report.files for s in f.sightings})
        raise InputError(f"No sightings of {', '.join(repr(m) for m in missing)} in the results"
                         + (f" (found: {', '.join(found)})" if found else " (nothing was found)"))
    return out


def _safe(text: str, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:limit] or "x"


def _category(f: FileResult, identity_id: int) -> str:
    return next((b.category for fr in f.frames for b in fr.matches if b.match.identity_id == identity_id), "")


def _plan(report: SearchReport, selection: Sequence[EvidenceSelection]) -> list[_Item]:
    """The segments to export, in the report's order; InputError, in words, for a selection that does not fit."""
    if not selection:
        raise InputError("Nothing to export: select at least one sighting")
    files = {f.path: f for f in report.files}
    chosen: dict[tuple[str, int], set[int]] = {}
    for sel in selection:
        f = files.get(str(sel.path))
        if f is None:
            raise InputError(f"{sel.path} is not among the searched files of these results")
        if f.error:
            raise InputError(f"{Path(f.path).name} was not processed ({f.error}): it has no sightings to export")
        s = next((s for s in f.sightings if s.identity_id == sel.identity_id), None)
        if s is None:
            raise InputError(f"Identity {sel.identity_id} has no sighting in {Path(f.path).name}")
        bad = [i for i in sel.segments if not 0 <= i < len(s.segments)]
        if bad:
            raise InputError(f"{s.label} has {len(s.segments)} segment(s) in {Path(f.path).name}; no segment {bad[0] + 1}")
        chosen.setdefault((f.path, s.identity_id), set()).update(sel.segments or range(len(s.segments)))
    items = []
    for f in report.files:
        for s in f.sightings:
            for i in sorted(chosen.get((f.path, s.identity_id), ())):
                items.append(_Item(len(items) + 1, f, s, s.segments[i], _category(f, s.identity_id)))
    for path, f in dict((it.file.path, it.file) for it in items).items():
        problem = source_problem(path, f.fingerprint)
        if problem:
            raise InputError(f"Evidence can only be made from the footage the results came from; {path}: {problem}.")
    return items


def _case_results(report: SearchReport, items: list[_Item]) -> SearchReport:
    """The report cut to the case: its files, and in them only its identities (a case folder is about them and
    should not carry other people's names)."""
    ids: dict[str, set[int]] = {}
    for it in items:
        ids.setdefault(it.file.path, set()).add(it.sighting.identity_id)
    files = []
    for f in report.files:
        keep = ids.get(f.path)
        if keep is None:
            continue
        frames = [FrameResult(fr.path, fr.frame_index, fr.time_s, [b for b in fr.matches if b.match.identity_id in keep],
                              None, fr.total_frames) for fr in f.frames]
        files.append(replace(f, frames=[fr for fr in frames if fr.boxes],
                             sightings=[s for s in f.sightings if s.identity_id in keep]))
    return replace(report, files=files)


class _Frames:
    """Makes one exported frame: the others pixelated (when asked), the case's matched boxes drawn."""

    def __init__(self, f: FileResult, identity_ids: set[int], sample_ft: int, detect: Detect | None):
        self.shown, self.ids, self.detect = FrameBoxes(f, sample_ft), identity_ids, detect

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        boxes = [b for b in self.shown(index) if b.match.identity_id in self.ids]
        if self.detect is not None:
            # The detector runs on every exported frame rather than reusing the search's boxes: the results keep
            # only matched boxes, and only of processed frames, while a clip also shows the frames skipped by
            # sampleFt and the padding around the segment. Detections are made on the frame as decoded.
            kept = [b.box for b in boxes]
            pixelate(frame, others(np.asarray(self.detect(frame)).reshape(-1, 4), kept), kept)
        return draw_boxes(frame, boxes, unmatched=False, copy=False) if boxes else frame


def _clip_range(it: _Item, fps: float, frame_count: int) -> tuple[int, int]:
    """First and last frame of a segment's clip: PAD_S around it, within the video."""
    pad = int(round(PAD_S * (fps or 1.0)))
    last = it.segment.end_frame + pad
    return max(0, it.segment.start_frame - pad), (min(last, frame_count - 1) if frame_count else last)


def _frames_to_write(it: _Item) -> int:
    if it.file.kind != "video":
        return 1
    first, last = _clip_range(it, it.file.fps, it.file.frame_count)
    return last - first + 1


def write_evidence(
    report: SearchReport,
    selection: Sequence[EvidenceSelection],
    dest: str | Path,
    photos: Sequence[RegistrationPhoto] = (),
    detect: Detect | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Writes the case folder `dest` (new, or an empty folder) for the selected sightings and returns it.
    `detect` given: everything it finds that is not a matched box of the case's identities is pixelated."""
    items = _plan(report, list(selection))
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest} already exists and is not an empty folder: choose a new folder for the evidence")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
    try:
        _write(report, items, tmp, photos, detect, progress, cancel)
        if dest.exists():
            dest.rmdir()  # the empty folder the caller chose
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _write(report: SearchReport, items: list[_Item], tmp: Path, photos: Sequence[RegistrationPhoto],
           detect: Detect | None, progress: Progress | None, cancel: Callable[[], bool] | None) -> None:
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    for sub in ("clips", "frames", "photos"):
        (tmp / sub).mkdir()
    case_ids: dict[str, set[int]] = {}
    for it in items:
        case_ids.setdefault(it.file.path, set()).add(it.sighting.identity_id)
    sources = [SourceFile(f.path, sha256_of(Path(f.path)), Path(f.path).stat().st_size, f.kind, f.width, f.height, f.fps,
                          f.frame_count, f.time_caution) for f in dict((it.file.path, it.file) for it in items).values()]
    total, done = sum(_frames_to_write(it) for it in items), 0

    def tick() -> None:
        nonlocal done
        if cancel and cancel():
            raise InputError("Evidence export cancelled")
        done += 1
        if progress:
            progress(done, total)

    segments = []
    for it in items:
        make = _Frames(it.file, case_ids[it.file.path], report.settings.sample_ft, detect)
        stem = f"{it.n:02d}_{_safe(it.sighting.label)}_{_safe(Path(it.file.path).stem)}"
        g = it.segment
        frame_name = f"frames/{stem}_f{g.best_frame}.jpg"
        if it.file.kind != "video":
            (tmp / frame_name).write_bytes(encode_jpeg(make(read_image(it.file.path), 0)))
            tick()
            segments.append(CaseSegment(it.n, it.sighting.identity_id, it.sighting.label, it.file.path, g, "", frame_name))
            continue
        clip_name = f"clips/{stem}_{g.start_frame}-{g.end_frame}.mp4"
        first, last = _write_clip(it, tmp / clip_name, tmp / frame_name, make, tick)
        segments.append(CaseSegment(it.n, it.sighting.identity_id, it.sighting.label, it.file.path, g, clip_name,
                                    frame_name, (first, last)))

    identities = []
    for ident in dict.fromkeys((it.sighting.identity_id, it.sighting.label, it.category) for it in items):
        identity_id, label, category = ident
        names = []
        for p in photos:
            if p.identity_id == identity_id and p.label == label:  # an id reused by a later identity is not this one
                names.append(f"photos/{identity_id}_{_safe(label)}_{p.entry_id}.jpg")
                (tmp / names[-1]).write_bytes(p.jpeg)
        identities.append(CaseIdentity(identity_id, label, category, report.thresholds.get(category), tuple(names)))

    case = _case_results(report, items)
    write_json(case, tmp / "results.json")
    write_csv(case, tmp / "sightings.csv")
    write_html(CaseSummary(created, app_version(), report, identities, segments, sources, detect is not None),
               tmp / "report.html")
    write_manifest(tmp, created)


def _write_clip(it: _Item, clip: Path, frame_jpg: Path, make: _Frames, tick: Callable[[], None]) -> tuple[int, int]:
    """The segment with its padding as H.264, and its best frame as JPEG; returns the clip's first and last frame."""
    f, g = it.file, it.segment
    with VideoReader(f.path) as video:
        info = video.info
        if (info.width, info.height) != (f.width, f.height):
            raise InputError(f"{Path(f.path).name} is {info.width}x{info.height} now but was {f.width}x{f.height} when "
                             "searched: it is not the file these results are about")
        first, last = _clip_range(it, info.fps, info.frame_count)
        written = -1
        # a variable frame rate: the clip keeps the source's own timing, not its average rate's
        with H264Writer(clip, info.fps, info.width, info.height, timed=bool(f.time_caution)) as out:
            for idx, frame in video.frames(start=first, stop=last + 1):
                img = make(frame, idx)
                out.write(img, video.frame_time_s)
                if idx == g.best_frame:
                    frame_jpg.write_bytes(encode_jpeg(img, quality=95))
                written = idx
                tick()
    if written < g.end_frame:
        raise InputError(f"{Path(f.path).name} ends at frame {written} but the sighting runs to frame {g.end_frame}: "
                         "it is not the file these results are about")
    return first, written
