"""An identity's journey drawn as lanes: one lane per camera, its sightings left to right in time order,
each a thumbnail of its best view with the file and time under it, joined by a line in the order they happened.
Clicking a sighting emits `stopClicked(JourneyStop)`."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QWidget

from Algorithm.outer_api import Journey, JourneyStop, clock_text
from GUI.widgets import APPROX, fmt_distance, fmt_time, jpeg_pixmap, qcolor

LANE_LABEL_W = 120
CARD_W, THUMB_H, TEXT_H = 120, 84, 32
GAP_X, LANE_H = 22, THUMB_H + TEXT_H + 18


def _began(stop: JourneyStop) -> str:
    """When the sighting began, and how that is known: stops are in this order."""
    at = clock_text(stop.clock)
    if stop.clock_from == "file name":
        return f"began {at} (by the date and time in the file's name)"
    return f"began about {at} (by the file's modification time: a copied file has the copy's time)"


class _Lanes(QWidget):
    stopClicked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.journey: Journey | None = None
        self.time_cautions: dict[str, str] = {}  # source -> why its times are approximate (a variable frame rate)
        self._cards: list[tuple[QRectF, JourneyStop]] = []
        self._pixmaps: dict[int, object] = {}
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_journey(self, journey: Journey | None, time_cautions: dict[str, str] | None = None) -> None:
        self.journey = journey
        self.time_cautions = dict(time_cautions or {})
        self._pixmaps = {}
        self._layout()
        self.updateGeometry()
        self.update()

    def _layout(self) -> None:
        self._cards = []
        j = self.journey
        if j is None:
            return
        lanes = j.cameras
        for i, stop in enumerate(j.stops):
            lane = lanes.index(stop.camera)
            x = LANE_LABEL_W + GAP_X + i * (CARD_W + GAP_X)
            y = 8 + lane * LANE_H
            self._cards.append((QRectF(x, y, CARD_W, THUMB_H + TEXT_H), stop))

    def sizeHint(self) -> QSize:
        if self.journey is None:
            return QSize(400, LANE_H)
        n, lanes = len(self.journey.stops), max(1, len(self.journey.cameras))
        return QSize(LANE_LABEL_W + GAP_X + n * (CARD_W + GAP_X), 16 + lanes * LANE_H)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        j = self.journey
        if j is None or not j.stops:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Find an identity to see its journey across your footage")
            return
        color = qcolor(j.identity_id)
        for lane, cam in enumerate(j.cameras):
            y = 8 + lane * LANE_H
            p.fillRect(QRectF(0, y - 4, self.width(), LANE_H - 6), pal.color(QPalette.ColorRole.AlternateBase))
            p.setPen(pal.color(QPalette.ColorRole.Text))
            p.drawText(QRectF(8, y, LANE_LABEL_W - 12, THUMB_H), Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap,
                       cam or "(no camera)")
        # the path in time order: a line from each sighting's card to the next one's
        p.setPen(QPen(color, 2))
        centers = [QPointF(r.center().x(), r.top() + THUMB_H / 2) for r, _ in self._cards]
        for a, b in zip(centers, centers[1:]):
            p.drawLine(a, b)
        small = p.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        for i, (r, stop) in enumerate(self._cards):
            pm = self._pixmaps.get(i)
            if pm is None:
                pm = self._pixmaps[i] = jpeg_pixmap(stop.thumbnail, THUMB_H, CARD_W)
            thumb = QRectF(r.left(), r.top(), CARD_W, THUMB_H)
            p.fillRect(thumb, pal.color(QPalette.ColorRole.Base))
            if not pm.isNull():
                p.drawPixmap(int(thumb.center().x() - pm.width() / 2), int(thumb.top()), pm)
            p.setPen(QPen(color, 3))
            p.drawRect(thumb)
            p.setPen(pal.color(QPalette.ColorRole.Text))
            room = CARD_W + GAP_X - 4
            name = p.fontMetrics().elidedText(f"{i + 1}. {Path(stop.source).name}", Qt.TextElideMode.ElideMiddle, room)
            text = f"{name}\n{self.when(stop)}"
            p.drawText(QRectF(r.left() - GAP_X / 2 + 2, r.top() + THUMB_H + 2, room, TEXT_H),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)

    def when(self, stop: JourneyStop) -> str:
        """The time under a stop's thumbnail; "\u2248" before it when its file's times are approximate."""
        about = APPROX if stop.source in self.time_cautions else ""
        if stop.clock_from == "file name":  # a recording time to trust (a file time may be a copy's)
            return f"{about}{time.strftime('%H:%M:%S', time.localtime(stop.clock))} \u00b7 {fmt_time(stop.start_time)}"
        return f"{about}{fmt_time(stop.start_time)}\u2013{fmt_time(stop.end_time)}"

    def _stop_at(self, pos) -> JourneyStop | None:
        for r, stop in self._cards:
            if r.contains(QPointF(pos)):
                return stop
        return None

    def mouseMoveEvent(self, ev) -> None:
        stop = self._stop_at(ev.position())
        self.setCursor(Qt.CursorShape.PointingHandCursor if stop else Qt.CursorShape.ArrowCursor)
        note = f"\n{self.time_cautions[stop.source]}" if stop and stop.source in self.time_cautions else ""
        self.setToolTip(f"{stop.source}\ncamera {stop.camera}\n{_began(stop)}\nbest view at {fmt_time(stop.best_time)} "
                        f"(distance {fmt_distance(stop.distance)}){note}\nclick to open this moment" if stop else "")

    def mousePressEvent(self, ev) -> None:
        stop = self._stop_at(ev.position())
        if stop is not None and ev.button() == Qt.MouseButton.LeftButton:
            self.stopClicked.emit(stop)


class JourneyView(QScrollArea):
    """Scrollable lanes of one journey."""

    stopClicked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lanes = _Lanes()
        self.lanes.stopClicked.connect(self.stopClicked)
        self.setWidget(self.lanes)
        self.setWidgetResizable(True)

    def set_journey(self, journey: Journey | None, time_cautions: dict[str, str] | None = None) -> None:
        """`time_cautions`: source -> why its times are approximate (shown with "\u2248")."""
        self.lanes.set_journey(journey, time_cautions)

    def journey(self) -> Journey | None:
        return self.lanes.journey
