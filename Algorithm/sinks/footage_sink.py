"""The footage index as a sink of a search: what a run of one file saw is written when the file is done.

A search indexes the files it processes, so the second question about a file is answered from the index.
A file already indexed in full and unchanged on disk is left as it is (a shorter or partial run never
replaces a complete one, nor a partial one that went further); `force` (the `index` command's --force, the
Library's Re-index) processes it again, and its run replaces the earlier one when it ends (not when stopped).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from Algorithm.errors import GalleryError
from Algorithm.pipeline.recorder import TrackRecorder
from Algorithm.storage.footage_index import FootageIndex, SourceWriter


def default_camera(path: str | Path) -> str:
    """A file's camera when none is given: its folder's name (footage is usually filed one folder per camera)."""
    return Path(path).resolve().parent.name


@dataclass
class OpenSource:
    writer: SourceWriter
    recorder: TrackRecorder


@dataclass
class FootageSink:
    index: FootageIndex
    camera: str | None = None  # None: each file's folder name
    force: bool = False

    def wanted(self, path: str | Path) -> bool:
        if self.force:
            return True
        status = self.index.source_status(path).status
        if status == "new" and self.index.adopt_moved(path, self.camera) is not None:  # indexed before, elsewhere
            status = self.index.source_status(path).status
        return status != "done"

    def _camera(self, path: str | Path) -> str:
        """The camera given, else the one the file was indexed under (a re-index keeps a name the user chose), else
        its folder's name."""
        if self.camera is not None:
            return self.camera
        known = self.index.camera_of(path)
        return known if known else default_camera(path)

    def begin(self, path: str | Path, kind: str, width: int, height: int, fps: float, frame_count: int,
              settings: dict, model_of: dict[str, str], digest: str | None = None) -> OpenSource | None:
        """None when the file is already indexed (done, unchanged) and not forced. `digest`: the file's fingerprint,
        when the caller has read it already."""
        if not self.wanted(path):
            return None
        camera = self._camera(path)
        duration = frame_count / fps if fps and frame_count else None
        w = self.index.begin_source(path, camera, fps or None, frame_count or None, duration, kind, width, height,
                                    dict(settings, models=model_of), digest)
        return OpenSource(w, TrackRecorder(model_of, width, height))

    @staticmethod
    def finish(src: OpenSource, complete: bool, reason: str = "", covered: int | None = None,
               time_drift_s: float | None = None) -> int:
        """Writes the run; `covered`: the frames from the start it went through; `time_drift_s`: Stats.time_drift_s.
        A partial run is not kept where a complete run of the unchanged file is (a re-index that was stopped) or a
        partial one went further (a short look must not wipe a longer one's tracks)."""
        w = src.writer
        if not complete:
            kept = w.store.source_status(w.path)
            if kept.status == "done" or (
                    kept.status == "partial" and w.store.covered_frames(kept.source_id) > (covered or 0)):
                return kept.source_id
        w.covered_frames, w.time_drift_s = covered, time_drift_s
        w.add_tracks(src.recorder.records())
        return w.finish("done" if complete else "partial", reason)

    def failed(self, path: str | Path, reason: str) -> None:
        """Records a file that could not be processed (unless an earlier run of it, complete or partial, is kept:
        a failure must not wipe the tracks a run of the unchanged file stored)."""
        status = self.index.source_status(path).status
        if status == "partial" or (status == "done" and not self.force):
            return
        camera = self._camera(path)
        try:
            w = self.index.begin_source(path, camera)
        except GalleryError:  # not readable: recorded by size and time only (a change of either is noticed)
            try:
                st = os.stat(path)
            except OSError:  # not even there: nothing to record it by
                return
            w = SourceWriter(self.index, os.path.abspath(path), st.st_size, st.st_mtime_ns, "", camera, None, None, None)
        w.finish("failed", reason)
