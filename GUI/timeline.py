"""The review player's timeline: each identity's sightings as segments in its colour, the playhead, and what was
not processed (a stopped run) shaded.

One lane per identity when there are several (its label at the left), one lane otherwise. A click on a segment
emits `segmentClicked(identity_id, Segment)`; a click or a drag elsewhere emits `seekRequested(frame)`.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from Algorithm.outer_api import Segment, Sighting
from GUI.widgets import fmt_time, qcolor

LANE_H = 16
LANE_GAP = 3
MARGIN = 4
LABEL_W_MAX = 110
MIN_SEG_W = 3.0  # a one-frame sighting stays visible and clickable


class Timeline(QWidget):
    segmentClicked = Signal(int, object)  # identity id, Segment
    seekRequested = Signal(int)  # frame index

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lanes: list[Sighting] = []
        self._frames = 1  # frames of the video (the width of the timeline)
        self._fps = 25.0
        self._processed = 0  # frames up to which results exist (the rest is shaded)
        self._position = -1
        self._dragging = False
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._fit_height()

    # -- content ----------------------------------------------------------------------------------
    def set_results(self, sightings: list[Sighting], frame_count: int, fps: float, processed: int) -> None:
        """`frame_count`: the video's frames; `processed`: frames with results (less when the run was stopped)."""
        self._lanes = [s for s in sightings if s.segments]
        self._frames = max(1, int(frame_count), max((g.end_frame + 1 for s in self._lanes for g in s.segments), default=1))
        self._fps = fps if fps > 0 else 25.0
        self._processed = max(0, min(int(processed), self._frames)) if processed else self._frames
        self._position = -1
        self._fit_height()
        self.update()

    def clear(self) -> None:
        self.set_results([], 1, 25.0, 0)

    def set_position(self, frame: int) -> None:
        if frame != self._position:
            self._position = frame
            self.update()

    def segments(self) -> list[tuple[int, int, int]]:
        """(identity id, start frame, end frame) of every segment drawn, lane by lane."""
        return [(s.identity_id, g.start_frame, g.end_frame) for s in self._lanes for g in s.segments]

    def lane_count(self) -> int:
        return len(self._lanes) if len(self._lanes) > 1 else 1

    # -- geometry ---------------------------------------------------------------------------------
    def _fit_height(self) -> None:
        n = self.lane_count()
        self.setFixedHeight(2 * MARGIN + n * LANE_H + (n - 1) * LANE_GAP)

    def _label_w(self) -> int:
        if len(self._lanes) <= 1:
            return 0
        fm = self.fontMetrics()
        return min(LABEL_W_MAX, max(fm.horizontalAdvance(s.label) for s in self._lanes) + 10)

    def _track(self) -> QRectF:
        left = MARGIN + self._label_w()
        return QRectF(left, MARGIN, max(1.0, self.width() - left - MARGIN), self.height() - 2 * MARGIN)

    def _x(self, frame: float) -> float:
        t = self._track()
        return t.left() + t.width() * frame / self._frames

    def frame_at(self, x: float) -> int:
        t = self._track()
        return int(min(self._frames - 1, max(0.0, (x - t.left()) / t.width() * self._frames)))

    def _lane_rect(self, lane: int) -> QRectF:
        t = self._track()
        return QRectF(t.left(), MARGIN + lane * (LANE_H + LANE_GAP), t.width(), LANE_H)

    def segment_rect(self, index: int) -> QRectF:
        """Where segment `index` (in `segments()` order) is drawn (tests click through it)."""
        k = 0
        for lane, s in enumerate(self._lanes):
            for g in s.segments:
                if k == index:
                    return self._seg_rect(lane if len(self._lanes) > 1 else 0, g)
                k += 1
        raise IndexError(index)

    def _seg_rect(self, lane: int, g: Segment) -> QRectF:
        r = self._lane_rect(lane)
        x1, x2 = self._x(g.start_frame), self._x(g.end_frame + 1)
        if x2 - x1 < MIN_SEG_W:
            mid = (x1 + x2) / 2
            x1, x2 = mid - MIN_SEG_W / 2, mid + MIN_SEG_W / 2
        return QRectF(x1, r.top(), x2 - x1, r.height())

    def _hit(self, p: QPointF) -> tuple[Sighting, Segment] | None:
        for lane, s in enumerate(self._lanes):
            for g in s.segments:
                if self._seg_rect(lane if len(self._lanes) > 1 else 0, g).adjusted(-2, 0, 2, 0).contains(p):
                    return s, g
        return None

    def sizeHint(self) -> QSize:
        return QSize(600, self.height())

    # -- events -----------------------------------------------------------------------------------
    def mousePressEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(ev)
        hit = self._hit(ev.position())
        if hit is not None:
            self.segmentClicked.emit(hit[0].identity_id, hit[1])
        else:
            self._dragging = True
            self.seekRequested.emit(self.frame_at(ev.position().x()))

    def mouseMoveEvent(self, ev) -> None:
        if self._dragging:
            self.seekRequested.emit(self.frame_at(ev.position().x()))
            return
        hit = self._hit(ev.position())
        self.setCursor(Qt.CursorShape.PointingHandCursor if hit else Qt.CursorShape.ArrowCursor)
        if hit:
            s, g = hit
            QToolTip.showText(ev.globalPosition().toPoint(),
                              f"{s.label}: {fmt_time(g.start_time)}\u2013{fmt_time(g.end_time)} (click to play)", self)
        else:
            frame = self.frame_at(ev.position().x())
            note = "" if frame < self._processed else " (not processed: no results here)"
            QToolTip.showText(ev.globalPosition().toPoint(), f"{fmt_time(frame / self._fps)}{note}", self)

    def mouseReleaseEvent(self, ev) -> None:
        self._dragging = False
        super().mouseReleaseEvent(ev)

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, ev) -> None:
        p = QPainter(self)
        pal = self.palette()
        t = self._track()
        several = len(self._lanes) > 1
        for lane in range(self.lane_count()):
            p.fillRect(self._lane_rect(lane), pal.color(QPalette.ColorRole.AlternateBase))
        if self._processed < self._frames:  # not processed (a stopped run): no results there, hatched
            x = self._x(self._processed)
            p.fillRect(QRectF(x, t.top(), t.right() - x, t.height()),
                       QColor(128, 128, 128, 60))
            p.fillRect(QRectF(x, t.top(), t.right() - x, t.height()), Qt.BrushStyle.BDiagPattern)
        for lane, s in enumerate(self._lanes):
            row = lane if several else 0
            if several:
                p.setPen(pal.color(QPalette.ColorRole.WindowText))
                r = self._lane_rect(row)
                p.drawText(QRectF(MARGIN, r.top(), self._label_w() - 6, r.height()),
                           Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                           self.fontMetrics().elidedText(s.label, Qt.TextElideMode.ElideRight, self._label_w() - 6))
            color = qcolor(s.identity_id)
            for g in s.segments:
                p.fillRect(self._seg_rect(row, g), color)
        if self._position >= 0:
            x = self._x(self._position + 0.5)
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawLine(QPointF(x, 1), QPointF(x, self.height() - 1))
