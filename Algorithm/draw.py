"""Drawing results onto frames (OpenCV, BGR) and writing an annotated copy of a processed video.

The GUI draws its live overlay with Qt; this module serves exports and the colours both share, so an
identity has the same colour on screen and in the exported video.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from .errors import InputError
from .media import VideoReader
from .types import BoxResult, FileResult

# Ten vivid, well separated colours (Tableau 10 with gold and teal instead of its brown and grey), as BGR.
_PALETTE_RGB = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (255, 200, 0), (227, 119, 194), (188, 189, 34), (23, 190, 207), (0, 190, 140),
]
PALETTE = [(b, g, r) for r, g, b in _PALETTE_RGB]
FAINT = (200, 200, 200)


def identity_color(identity_id: int) -> tuple[int, int, int]:
    """Stable BGR colour of an identity (the same in the GUI and in exported videos)."""
    return PALETTE[(int(identity_id) * 7 + 3) % len(PALETTE)]


def match_text(box: BoxResult) -> str:
    """'Alice 0.12': label and distance of a matched box, '' for an unmatched one."""
    return f"{box.match.label} {box.match.distance:.2f}" if box.match else ""


def draw_label(img: np.ndarray, x: int, y: int, text: str, color) -> None:
    """A filled tag with `text` whose bottom-left corner is at (x, y); kept inside the image."""
    scale = max(0.45, min(img.shape[:2]) / 900)
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = int(min(max(0, x), max(0, img.shape[1] - tw - 6)))
    y = int(max(th + base + 4, y))
    cv2.rectangle(img, (x, y - th - base - 4), (x + tw + 6, y), color, -1)
    lum = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    fg = (0, 0, 0) if lum > 150 else (255, 255, 255)
    cv2.putText(img, text, (x + 3, y - base - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, fg, thick, cv2.LINE_AA)


def draw_boxes(img: np.ndarray, boxes: Iterable[BoxResult], unmatched: bool = True, copy: bool = True) -> np.ndarray:
    """Matched boxes thick in their identity's colour with 'label distance'; unmatched ones thin and faint."""
    out = img.copy() if copy else img
    boxes = list(boxes)
    thick = max(2, int(round(min(out.shape[:2]) / 250)))
    if unmatched and any(b.match is None for b in boxes):
        layer = out.copy()
        for b in boxes:
            if b.match is None:
                x1, y1, x2, y2 = (int(round(v)) for v in b.box)
                cv2.rectangle(layer, (x1, y1), (x2, y2), FAINT, 1, cv2.LINE_AA)
        cv2.addWeighted(layer, 0.6, out, 0.4, 0, dst=out)
    for b in boxes:
        if b.match is None:
            continue
        color = identity_color(b.match.identity_id)
        x1, y1, x2, y2 = (int(round(v)) for v in b.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        draw_label(out, x1, y1, match_text(b), color)
    return out


def _fourcc(dest: Path) -> int:
    return cv2.VideoWriter_fourcc(*("mp4v" if dest.suffix.lower() in (".mp4", ".m4v", ".mov") else "MJPG"))


def export_annotated_video(
    result: FileResult,
    dest: str | Path,
    sample_ft: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Re-reads the video of `result` and writes `dest` with the matched boxes drawn on it.

    Only the part that was processed is written (up to the last frame read). With sampleFt > 1 the boxes of a
    processed frame stay on screen for the skipped frames that follow it, so they do not flicker.
    """
    if result.kind != "video":
        raise InputError(f"Only videos can be exported as annotated videos, not {Path(result.path).name}")
    if result.error:
        raise InputError(f"{Path(result.path).name} was not processed: {result.error}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    by_frame = {f.frame_index: f.matches for f in result.frames}
    sample_ft = max(1, int(sample_ft))
    with VideoReader(result.path) as video:
        info = video.info
        last = result.stats.frames_read or info.frame_count or 0
        tmp = dest.with_name(dest.stem + ".part" + dest.suffix)
        writer = cv2.VideoWriter(str(tmp), _fourcc(dest), info.fps, (info.width, info.height))
        if not writer.isOpened():
            raise InputError(f"Cannot write a video to {dest} (no encoder for {dest.suffix}; try .mp4 or .avi)")
        held: tuple[int, list[BoxResult]] = (-(10**9), [])
        try:
            for idx, frame in video.frames(stop=last or None):
                if cancel and cancel():
                    break
                if idx in by_frame:
                    held = (idx, by_frame[idx])
                elif idx % sample_ft == 0:  # a processed frame without a match: nothing to hold
                    held = (idx, [])
                boxes = held[1] if idx - held[0] < sample_ft else []
                writer.write(draw_boxes(frame, boxes, unmatched=False, copy=False) if boxes else frame)
                if on_progress:
                    on_progress(idx + 1, last)
        finally:
            writer.release()
    if cancel and cancel():
        tmp.unlink(missing_ok=True)
        raise InputError("Export cancelled")
    tmp.replace(dest)
    return dest
