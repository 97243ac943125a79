"""Reading images and videos safely: any path (non-ASCII too), any file, a clear InputError otherwise."""
from __future__ import annotations

import hashlib
import itertools
import math
import os
import queue
import shutil
import struct
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from Algorithm.errors import InputError
from Algorithm.rules import IMAGE_EXTS, VIDEO_EXTS

# FFmpeg prints its own lines for a damaged file ("partial file", "Invalid NAL unit size") straight to stderr, beside
# the app's own words about it (a skipped file, a video that ended early); read when the first video is opened, so
# setting it in the environment beforehand shows them again.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

DEFAULT_FPS = 25.0  # used when a container reports no usable frame rate
# Larger images are refused before decoding (a 250 MP photo already takes 750 MB as BGR); OpenCV's own
# limit is 1 GP. 12000x9000 (108 MP) works.
MAX_IMAGE_PIXELS = 250_000_000
# A file this large is read as an image only when its first bytes say it is one (else: a mislabelled video).
_MAX_UNSNIFFED_BYTES = 256 << 20
STORED_CROP_MAX_SIDE = 1024  # photos kept in the gallery are shrunk to this (ReID reads 256x128 anyway)


# The fingerprint reads this much at each end of the file: a video's header (moov/EBML) and its last
# frames change with any re-encode or truncation, and 2 MiB read in ~2 ms from a warm disk even for a
# 10 GB recording (a full sha256 of that would take ~30 s).
HASH_CHUNK = 1 << 20


def fingerprint(path: str | Path, size: int | None = None) -> str:
    """What a file is, cheaply, to tell it from another one under the same name (the footage index, a results
    file's sources): sha256 of the size (8 bytes, little-endian), the first HASH_CHUNK bytes and the last HASH_CHUNK bytes."""
    size = os.path.getsize(path) if size is None else size
    h = hashlib.sha256(struct.pack("<Q", size))
    with open(path, "rb") as fh:
        h.update(fh.read(HASH_CHUNK))
        if size > HASH_CHUNK:
            fh.seek(max(HASH_CHUNK, size - HASH_CHUNK))
            h.update(fh.read(HASH_CHUNK))
    return h.hexdigest()


def source_problem(path: str | Path, searched: str = "") -> str | None:
    """Why the file at `path` cannot show results made from it: gone, unreadable, or not the file searched (its
    fingerprint is not `searched`; results without one cannot tell). None when it is the file."""
    try:
        now = fingerprint(path)
    except FileNotFoundError:
        return "the file is missing (moved or deleted since it was searched): put it back where it was"
    except OSError as e:
        return f"the file cannot be read ({e.strerror or e})"
    if searched and now != searched:
        return ("it is not the file that was searched (its content differs: replaced, re-encoded or edited since); "
                "the results would be shown on other footage")
    return None


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
    """Any decoded image (gray, 16-bit, float, alpha) as 8-bit 3-channel BGR, without float64 copies
    (a 16-bit 12000x9000 photo would otherwise need 2.6 GB)."""
    if img.dtype == np.uint16:
        img = cv2.convertScaleAbs(img, alpha=1 / 257.0)
    elif img.dtype in (np.float32, np.float64, np.float16):
        img = np.nan_to_num(img.astype(np.float32, copy=False), nan=0.0, posinf=255.0, neginf=0.0)
        peak = float(img.max()) if img.size else 0.0
        img = cv2.convertScaleAbs(img, alpha=255.0 if peak <= 1.0 else 1.0)
    elif img.dtype != np.uint8:  # int8/int16/int32 TIFFs: stretch the used range
        lo, hi = float(img.min()), float(img.max())
        img = cv2.convertScaleAbs(img.astype(np.float32), alpha=255.0 / max(hi - lo, 1.0), beta=-lo * 255.0 / max(hi - lo, 1.0))
    if img.ndim == 2 or img.shape[2] in (1, 2):  # gray, gray + alpha
        return cv2.cvtColor(np.ascontiguousarray(img if img.ndim == 2 else img[:, :, 0]), cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img[:, :, :3])


_IMAGE_MAGIC = (
    b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+",
    b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51", b"\x59\xa6\x6a\x95", b"\x76\x2f\x31\x01", b"#?RADIANCE", b"#?RGBE",
)


def _looks_like_image(head: bytes) -> bool:
    if head.startswith(_IMAGE_MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return len(head) > 2 and head[0:1] == b"P" and head[1:2] in b"1234567Ff" and head[2:3].isspace()


def declared_size(data) -> tuple[int, int] | None:
    """(width, height) a PNG or JPEG header announces, read before decoding; None for other formats."""
    b = bytes(data[:32]) if not isinstance(data, bytes) else data[:32]
    if b.startswith(b"\x89PNG\r\n\x1a\n") and b[12:16] == b"IHDR":
        return int.from_bytes(b[16:20], "big"), int.from_bytes(b[20:24], "big")
    if not b.startswith(b"\xff\xd8"):
        return None
    buf = memoryview(data)
    i, n = 2, len(buf)
    while i + 9 < n:
        if buf[i] != 0xFF:
            return None
        m = buf[i + 1]
        if m == 0xFF:  # fill byte
            i += 1
            continue
        if m in (0x01, 0xD8) or 0xD0 <= m <= 0xD7:
            i += 2
            continue
        if m in (0xD9, 0xDA):  # end of image / start of scan without a frame header
            return None
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            h = (buf[i + 5] << 8) | buf[i + 6]
            w = (buf[i + 7] << 8) | buf[i + 8]
            return w, h
        i += 2 + ((buf[i + 2] << 8) | buf[i + 3])
    return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """BGR uint8 image, turned upright by its EXIF orientation. np.fromfile + imdecode, because cv2.imread
    fails on non-ASCII paths on Windows. Every failure is an InputError that names the file."""
    p = Path(path)
    _check_file(p)
    try:
        size = p.stat().st_size
        if size > _MAX_UNSNIFFED_BYTES:
            with open(p, "rb") as fh:
                if not _looks_like_image(fh.read(16)):
                    raise InputError(f"Not an image: {p} ({size >> 20} MB, and its content is no image format)")
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise InputError(f"Cannot read {p}: {e.strerror or e}") from e
    except MemoryError:
        raise InputError(f"Not enough memory to read {p} ({size >> 20} MB)") from None
    if data.size == 0:
        raise InputError(f"The file is empty (0 bytes): {p}")
    dims = declared_size(data)
    if dims and dims[0] * dims[1] > MAX_IMAGE_PIXELS:
        raise InputError(
            f"The image is too large to open: {dims[0]}x{dims[1]} pixels (at most {MAX_IMAGE_PIXELS // 1_000_000} "
            f"million pixels): {p}"
        )
    try:
        # ANYDEPTH|ANYCOLOR keeps 16-bit and gray as they are but, unlike IMREAD_UNCHANGED, applies EXIF orientation.
        img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    except cv2.error as e:
        why = "too large to open" if "MAX_IMAGE_PIXELS" in str(e) else "unknown format or damaged file"
        raise InputError(f"Not a readable image ({why}): {p}") from None
    except MemoryError:
        raise InputError(f"Not enough memory to open the image {p}") from None
    del data
    if img is None or img.size == 0 or min(img.shape[:2]) < 1:
        raise InputError(f"Not a readable image (unknown format or damaged file): {p}")
    try:
        return to_bgr8(img)
    except MemoryError:
        raise InputError(f"Not enough memory to open the image {p}") from None


def decode_image_bytes(data: bytes) -> np.ndarray:
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:
        img = None
    if img is None:
        raise InputError("Stored image data is damaged")
    return img


def encode_jpeg(img: np.ndarray, quality: int = 92) -> bytes:
    try:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    except cv2.error:
        ok = False
    if not ok:
        raise InputError(f"Cannot encode a {img.shape[1]}x{img.shape[0]} image as JPEG")
    return buf.tobytes()


def encode_crop(img: np.ndarray, max_side: int = STORED_CROP_MAX_SIDE, quality: int = 92) -> bytes:
    """JPEG of a crop to keep in the gallery, shrunk to `max_side`: a whole 12000x9000 photo would be 10+ MB
    in the file and in every thumbnail query."""
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        r = max_side / max(h, w)
        img = cv2.resize(img, (max(1, round(w * r)), max(1, round(h * r))), interpolation=cv2.INTER_AREA)
    return encode_jpeg(img, quality)


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


def ended_early(info: VideoInfo, frames_read: int) -> bool:
    """Whether a video read to its end stopped well short of the frame count its container gives (damaged or cut
    short). Container counts are estimates (variable frame rate files: duration x rate), so a second of video or 2 %
    of the count, whichever is more, is allowed."""
    slack = max(1, round(info.fps or 25.0), round(0.02 * info.frame_count))
    return bool(info.frame_count) and frames_read < info.frame_count - slack


# Hardware decoding (opt-in: Settings.hw_decode). OpenCV takes it only as an open parameter, and a backend that does
# not know the parameter refuses to open the file ("unsupported parameters ... Bailout"); some hardware decoders were
# seen to give wrong pictures (opencv#19694: VP9 through D3D11). So a hardware capture is kept only when it opens on the
# backend a plain open picks (the same frame numbering, frame rate and count) and its first frame matches a software
# decode of it; in every other case the video is opened exactly as without the option.
_HW_MIN_PSNR = 30.0  # dB: what OpenCV's own acceleration tests accept for a hardware frame against the software one
_ACCEL_NAMES = {int(getattr(cv2, n)): n.removeprefix("VIDEO_ACCELERATION_").lower()
                for n in dir(cv2) if n.startswith("VIDEO_ACCELERATION_")}


def decoder_name(accel: float) -> str:
    """"software", or "hardware (d3d11)" and the like, from what CAP_PROP_HW_ACCELERATION reports (-1, 0, NaN: none)."""
    a = int(accel) if math.isfinite(accel) else 0
    return f"hardware ({_ACCEL_NAMES.get(a, a)})" if a > 0 else "software"


_Opened = tuple[cv2.VideoCapture, float, float, np.ndarray | None]  # capture, fps, frame count, first frame


def _open_capture(src: str, params: list[int] | None = None) -> _Opened | None:
    """The capture, what it says of the video and its first frame (None if none decodes); None when it does not open."""
    cap = None
    try:
        cap = cv2.VideoCapture(src, cv2.CAP_ANY, params) if params else cv2.VideoCapture(src)
        if cap.isOpened():
            fps, n = cap.get(cv2.CAP_PROP_FPS), cap.get(cv2.CAP_PROP_FRAME_COUNT)
            ok, first = cap.read()
            return cap, fps, n, first if ok and first is not None and first.size else None
    except cv2.error:
        pass
    if cap is not None:
        cap.release()
    return None


def _open_hardware(src: str) -> _Opened | None:
    """The video opened with hardware decoding, or None where it is not used (see above)."""
    if not hasattr(cv2, "CAP_PROP_HW_ACCELERATION"):  # OpenCV before 4.5.2
        return None
    hw = _open_capture(src, [cv2.CAP_PROP_HW_ACCELERATION, cv2.VIDEO_ACCELERATION_ANY])
    if hw is None:
        return None
    if hw[3] is not None and decoder_name(hw[0].get(cv2.CAP_PROP_HW_ACCELERATION)) != "software":
        sw = _open_capture(src)
        if sw is not None:
            try:  # (getBackendName raises on a released capture: compare first)
                same = (sw[3] is not None and sw[0].getBackendName() == hw[0].getBackendName()
                        and sw[3].shape == hw[3].shape and cv2.PSNR(sw[3], hw[3]) >= _HW_MIN_PSNR)
            except cv2.error:
                same = False
            sw[0].release()
            if same:
                return hw
    hw[0].release()  # software after all: a plain open, so the frames are exactly those without the option
    return None


class VideoReader:
    """Frames of a video as (index, BGR frame), decoding only the frames that will be processed. `hw_decode` asks
    for the hardware decoder where OpenCV offers one; `decoder` says what decodes ("software", "hardware (d3d11)")."""

    def __init__(self, path: str | os.PathLike, hw_decode: bool = False):
        self.path = Path(path)
        self.cap = None
        self._tmp: Path | None = None
        self.decoder = "software"
        _check_file(self.path)
        try:
            src, self._tmp = _capture_path(self.path)
        except OSError as e:
            raise InputError(f"Cannot read {self.path}: {e.strerror or e}") from e
        opened = _open_hardware(src) if hw_decode else None
        if opened is not None:
            self.decoder = decoder_name(opened[0].get(cv2.CAP_PROP_HW_ACCELERATION))
        else:
            opened = _open_capture(src)
        if opened is None:
            self.close()
            raise InputError(f"Not a readable video (unknown format, missing codec or damaged file): {self.path}")
        self.cap, fps, n, first = opened
        if first is None:
            self.close()
            raise InputError(f"The video has no decodable frame (empty or broken): {self.path}")
        self._first: np.ndarray | None = first
        # the largest gap between a frame's own timestamp and index / fps, over the frames gone through: a variable
        # frame rate (rules.time_caution)
        self.time_drift_s = 0.0
        self.frame_time_s: float | None = None  # the last frame's own timestamp (None: the container gives none)
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
            if self.cap is None:  # closed (run stopped)
                return
            try:
                if idx == 0 and self._first is not None:
                    frame, self._first = self._first, None
                    ok = True
                elif idx >= start and (idx - start) % step == 0:
                    ok, frame = self.cap.read()
                else:
                    ok, frame = self.cap.grab(), None
            except cv2.error:  # a damaged stream ends the video here rather than the run
                ok = False
            if not ok:
                return
            self._clock(idx)
            if frame is not None and idx >= start and (idx - start) % step == 0:
                yield idx, frame
            idx += 1

    def _clock(self, idx: int) -> None:
        ms = self.cap.get(cv2.CAP_PROP_POS_MSEC)
        if not math.isfinite(ms) or ms < 0 or (ms == 0 and idx):  # past the first frame, 0: no timestamps
            self.frame_time_s = None
            return
        self.frame_time_s = ms / 1000.0
        self.time_drift_s = max(self.time_drift_s, abs(self.frame_time_s - idx / self.info.fps))

    def close(self) -> None:
        cap, self.cap = getattr(self, "cap", None), None
        self._first = None
        if cap is not None:
            cap.release()
        if getattr(self, "_tmp", None) is not None:
            shutil.rmtree(self._tmp.parent, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Frames decoded ahead of the one being processed, on a thread of their own: decoding (OpenCV/FFmpeg, outside the
# GIL) overlaps detection and ReID. A few frames are enough to even out a slow frame; each is one frame of memory.
READ_AHEAD = 4
_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def batches(items: Iterator, size: int) -> Iterator[list]:
    """`items` in lists of `size` (the last one shorter): a video's frames for a detector that takes several. Where
    `items` raises (a damaged stream), the items read before are given first, then the error."""
    items = iter(items)
    while True:
        chunk = []
        try:
            chunk.extend(itertools.islice(items, max(1, size)))
        except Exception:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


def read_ahead(frames: Iterator, depth: int = READ_AHEAD) -> Iterator:
    """Iterates `frames` on a thread of its own, `depth` items ahead. Closing the returned generator (a run that
    stops) stops the thread before it returns, so the reader behind `frames` can be closed right after."""
    q: queue.Queue = queue.Queue(max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_END)
        except BaseException as e:  # the consumer raises it: a damaged stream reads as in the calling thread
            q.put(_Failed(e))

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue see the stop
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            worker.join(0.01)


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate and frame count of a video (InputError when unreadable)."""
    with VideoReader(path) as v:
        return v.info


def video_frames(path: str | os.PathLike, step: int = 1, start: int = 0,
                 stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, BGR frame) of every `step`-th frame from `start` to `stop` (exclusive); the file is closed when
    the iteration ends or is abandoned."""
    with VideoReader(path) as v:
        yield from v.frames(step=step, start=start, stop=stop)


def read_video_frame(path: str | os.PathLike, index: int) -> np.ndarray:
    """Frame `index` of a video, BGR (seek by grabbing: exact on every container)."""
    with VideoReader(path) as v:
        for _, frame in v.frames(start=index, stop=index + 1):
            return frame
    raise InputError(f"{path} has no frame {index}")
