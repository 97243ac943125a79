"""Reading images and videos safely: any path (non-ASCII too), any file, a clear InputError otherwise."""
from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .errors import InputError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".wmv", ".mpg", ".mpeg", ".webm", ".flv", ".ts"}
DEFAULT_FPS = 25.0  # used when a container reports no usable frame rate


def media_kind(path: str | os.PathLike) -> str | None:
    ext = Path(path).suffix.lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    return None


def list_media(path: str | os.PathLike) -> list[Path]:
    """Images and videos in a file or folder (recursively, sorted); other files are skipped."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"Not found: {p}")
    if p.is_file():
        if media_kind(p) is None:
            raise InputError(f"Not an image or video (by its extension): {p}")
        return [p]
    files = [f for f in p.rglob("*") if f.is_file() and media_kind(f) is not None]
    return sorted(files, key=lambda f: str(f).lower())


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"File not found: {path}")
    if not path.is_file():
        raise InputError(f"Not a file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"The file is empty (0 bytes): {path}")


def to_bgr8(img: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, 16-bit, float, alpha) as 8-bit 3-channel BGR."""
    if img.dtype == np.uint16:
        img = (img / 257.0).round().astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img.astype(np.float64) * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.shape[2] == 1:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, :3])


def read_image(path: str | os.PathLike) -> np.ndarray:
    """BGR uint8 image. np.fromfile + imdecode, because cv2.imread fails on non-ASCII paths on Windows."""
    p = Path(path)
    _check_file(p)
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise InputError(f"Cannot read {p}: {e.strerror or e}") from e
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise InputError(f"Not a readable image (unknown format or damaged file): {p}")
    return to_bgr8(img)


def decode_image_bytes(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError("Stored image data is damaged")
    return img


def encode_jpeg(img: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError("Cannot encode image")
    return buf.tobytes()


def write_image(path: str | os.PathLike, img: np.ndarray) -> None:
    """cv2.imwrite's twin for any path (imencode + tofile)."""
    ext = Path(path).suffix or ".png"
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise InputError(f"Cannot encode image as {ext}")
    buf.tofile(str(path))


def _capture_path(p: Path) -> tuple[str, Path | None]:
    """A path string OpenCV's video backends can open, and a temp copy to delete afterwards (Windows only)."""
    s = str(p)
    if sys.platform != "win32" or s.isascii():
        return s, None
    try:  # 8.3 short names are pure ASCII where the volume keeps them
        import ctypes

        buf = ctypes.create_unicode_buffer(32768)
        if ctypes.windll.kernel32.GetShortPathNameW(s, buf, len(buf)) and buf.value.isascii():
            return buf.value, None
    except Exception:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="reid_")) / ("video" + p.suffix.lower())
    shutil.copyfile(p, tmp)
    return str(tmp), tmp


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # 0 when the container does not say


class VideoReader:
    """Frames of a video as (index, BGR frame), decoding only the frames that will be processed."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        _check_file(self.path)
        src, self._tmp = _capture_path(self.path)
        self.cap = cv2.VideoCapture(src)
        if not self.cap.isOpened():
            self.close()
            raise InputError(f"Not a readable video (unknown format, missing codec or damaged file): {self.path}")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        n = self.cap.get(cv2.CAP_PROP_FRAME_COUNT)
        ok, first = self.cap.read()
        if not ok or first is None:
            self.close()
            raise InputError(f"The video has no decodable frame (empty or broken): {self.path}")
        self._first: np.ndarray | None = first
        h, w = first.shape[:2]
        self.info = VideoInfo(
            width=w,
            height=h,
            fps=float(fps) if fps and math.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS,
            frame_count=int(n) if n and math.isfinite(n) and 0 < n < 1e9 else 0,
        )

    def frames(self, step: int = 1, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Every `step`-th frame from `start`; skipped frames are grabbed, not decoded."""
        step = max(1, int(step))
        idx = 0
        while stop is None or idx < stop:
            if idx == 0 and self._first is not None:
                frame, self._first = self._first, None
                ok = True
            elif idx >= start and (idx - start) % step == 0:
                ok, frame = self.cap.read()
            else:
                ok, frame = self.cap.grab(), None
            if not ok:
                return
            if frame is not None and idx >= start and (idx - start) % step == 0:
                yield idx, frame
            idx += 1

    def close(self) -> None:
        cap = getattr(self, "cap", None)
        if cap is not None:
            cap.release()
        if self._tmp is not None:
            shutil.rmtree(self._tmp.parent, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
