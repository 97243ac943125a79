"""H.264 MP4 writing (PyAV + its bundled libx264): clips any browser plays.

OpenCV's wheel writes only MPEG-4 Part 2 ("mp4v"), which browsers and many players refuse; evidence clips must
open anywhere, so they are H.264 High, yuv420p, with the index at the front ("faststart") for streaming.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from Algorithm.errors import InputError


class H264Writer:
    """Writes BGR frames of one size to an MP4. yuv420p needs even sides: an odd last row or column is dropped.
    `timed`: each frame is written at the time `write` is given (a source with a variable frame rate plays at its own
    pace), counted in milliseconds from the first; otherwise frames are 1 / fps apart."""

    def __init__(self, dest: str | Path, fps: float, width: int, height: int, crf: int = 20, timed: bool = False):
        try:
            import av
        except ImportError as e:  # the install scripts bring it (requirements.txt); a bare checkout may lack it
            raise InputError("Writing H.264 clips needs PyAV: pip install av") from e
        self.dest = Path(dest)
        self.width, self.height = width - width % 2, height - height % 2
        if self.width < 2 or self.height < 2:
            raise InputError(f"Cannot write a {width}x{height} video")
        rate = Fraction(fps if fps and fps > 0 else 25.0).limit_denominator(1001)
        self._rate = rate
        try:
            self._box = av.open(str(self.dest), mode="w", format="mp4", options={"movflags": "+faststart"})
            self._stream = self._box.add_stream("libx264", rate=rate)
        except (av.error.FFmpegError, ValueError) as e:
            raise InputError(f"Cannot write an H.264 video to {self.dest}: {e}") from e
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        self._av = av
        self._time_base = Fraction(1, 1000) if timed else 1 / rate
        if timed:
            self._stream.time_base = self._stream.codec_context.time_base = self._time_base
        self._timed, self._t0, self._pts = timed, None, -1
        self.frames = 0

    def write(self, bgr: np.ndarray, at_s: float | None = None) -> None:
        img = np.ascontiguousarray(bgr[: self.height, : self.width])
        frame = self._av.VideoFrame.from_ndarray(img, format="bgr24")
        if self._timed and at_s is not None:
            self._t0 = at_s if self._t0 is None else self._t0
            # strictly increasing, whatever the source's clock says
            self._pts = max(self._pts + 1, round((at_s - self._t0) * 1000))
        else:  # no time given: the next frame slot, 1 / fps on
            self._pts = self.frames if not self._timed else self._pts + round(1000 / float(self._rate))
        frame.pts = self._pts
        frame.time_base = self._time_base
        self._box.mux(self._stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        """Flushes the encoder and finishes the file."""
        if self._box is None:
            return
        try:
            self._box.mux(self._stream.encode(None))
        finally:
            self._box.close()
            self._box = None

    def __enter__(self) -> "H264Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
