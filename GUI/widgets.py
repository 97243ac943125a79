"""Small widgets and helpers shared by the pages: the image view with boxes, dialogs, formatting."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QBoxLayout,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import identity_color, rules


def qcolor(identity_id: int) -> QColor:
    b, g, r = identity_color(identity_id)
    return QColor(r, g, b)


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


APPROX = "\u2248 "  # before a time that is approximate (a video with a variable frame rate: FileResult.time_caution)


def as_sentence(clause: str) -> str:
    """An engine's lower-case clause ("times are approximate ...") as a sentence for a tooltip; "" stays ""."""
    return f"{clause[:1].upper()}{clause[1:]}." if clause else ""


def fmt_time(seconds: float) -> str:
    """1:02:03.4, 2:03.4 or 0:03.4."""
    seconds = max(0.0, float(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def fmt_duration(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def fmt_distance(d: float, decimals: int = 3) -> str:
    """A distance for display: never "-0.000" (a cosine distance of identical features can come out as -1e-7)."""
    text = f"{float(d):.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_date(iso: str) -> str:
    """An ISO UTC timestamp in local time, 'YYYY-MM-DD HH:MM'."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return iso or ""


def jpeg_pixmap(data: bytes | None, height: int, max_width: int = 0) -> QPixmap:
    """A stored JPEG as a pixmap `height` high (and at most `max_width` wide when given)."""
    img = QImage.fromData(data or b"")
    if img.isNull():
        return QPixmap()
    img = img.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation)
    if max_width and img.width() > max_width:
        img = img.scaledToWidth(max_width, Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(img)


def pack(*widgets: QWidget, vertical: bool = False) -> QWidget:
    """Widgets side by side (or stacked) in one borderless widget, for a form row."""
    w = QWidget()
    lay: QBoxLayout = QVBoxLayout(w) if vertical else QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    if vertical:
        lay.setSpacing(2)
    for x in widgets:
        lay.addWidget(x)
    return w


def apply_range(spin: QAbstractSpinBox, rng: rules.Range) -> None:
    """Gives a spin box the range, step and decimals of one of the engine's rules (rules.THRESHOLD_RANGE, ...)."""
    if isinstance(spin, QDoubleSpinBox):
        spin.setDecimals(rng.decimals)
        spin.setRange(rng.low, rng.high)
        spin.setSingleStep(rng.step)
    elif isinstance(spin, QSpinBox):
        spin.setRange(int(rng.low), int(rng.high))
        spin.setSingleStep(max(1, int(rng.step)))
    else:
        raise TypeError(f"not a QSpinBox or QDoubleSpinBox: {type(spin).__name__}")


def hint_label(text: str = "", wrap: bool = True) -> QLabel:
    """A secondary-text label (placeholder colour of the current palette, so dark mode works)."""
    lab = QLabel(text)
    lab.setWordWrap(wrap)
    lab.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return lab


class ElidedLabel(QLabel):
    """One line of secondary text that shrinks with "…" instead of widening its row; full text as tooltip."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._full = ""
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def set_full_text(self, text: str, tooltip: str | None = None) -> None:
        self._full = text
        self.setToolTip(tooltip if tooltip is not None else text)
        self._elide()

    def _elide(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, max(self.width(), 40)))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._elide()


@dataclass
class OverlayBox:
    box: tuple[float, float, float, float]  # image pixels
    text: str = ""
    color: QColor | None = None  # None: faint (unmatched)
    clickable: bool = False


class ImageView(QWidget):
    """Shows one image scaled to fit, with boxes drawn on top at screen resolution.

    Clickable boxes emit `boxClicked(index)`; the selected one is drawn thicker. `image_to_widget` maps
    image pixels to widget coordinates (tests click through it)."""

    boxClicked = Signal(int)

    def __init__(self, placeholder: str = "", parent=None):
        super().__init__(parent)
        self._pixmap = QPixmap()
        self._scaled: QPixmap | None = None
        self._boxes: list[OverlayBox] = []
        self._selected = -1
        self._hover = -1
        self._placeholder = placeholder
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # -- content ----------------------------------------------------------------------------------
    def set_image(self, image: QImage | QPixmap | None, boxes: list[OverlayBox] | None = None) -> None:
        if image is None:
            self._pixmap = QPixmap()
        else:
            self._pixmap = image if isinstance(image, QPixmap) else QPixmap.fromImage(image)
        self._scaled = None
        self._boxes = list(boxes or [])
        self._selected = self._hover = -1
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_selected(self, index: int) -> None:
        self._selected = index
        self.update()

    def clear(self) -> None:
        self.set_image(None)

    @property
    def selected(self) -> int:
        return self._selected

    @property
    def boxes(self) -> list[OverlayBox]:
        return list(self._boxes)

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def image_size(self) -> QSize:
        return self._pixmap.size()

    # -- geometry ---------------------------------------------------------------------------------
    def _target(self) -> QRectF:
        if self._pixmap.isNull():
            return QRectF()
        pw, ph = self._pixmap.width(), self._pixmap.height()
        s = min(self.width() / pw, self.height() / ph)
        w, h = pw * s, ph * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def image_to_widget(self, x: float, y: float) -> QPointF:
        t = self._target()
        s = t.width() / max(self._pixmap.width(), 1)
        return QPointF(t.x() + x * s, t.y() + y * s)

    def widget_to_image(self, p: QPointF) -> QPointF:
        t = self._target()
        s = t.width() / max(self._pixmap.width(), 1)
        return QPointF((p.x() - t.x()) / s, (p.y() - t.y()) / s) if s else QPointF(-1, -1)

    def _box_rect(self, box) -> QRectF:
        a, b = self.image_to_widget(box[0], box[1]), self.image_to_widget(box[2], box[3])
        return QRectF(a, b)

    def box_at(self, p: QPointF) -> int:
        """The smallest clickable box under widget point `p` (so a person in front of a bus wins), or -1."""
        q = self.widget_to_image(p)
        best, area = -1, float("inf")
        for i, b in enumerate(self._boxes):
            x1, y1, x2, y2 = b.box
            if b.clickable and x1 <= q.x() <= x2 and y1 <= q.y() <= y2 and (x2 - x1) * (y2 - y1) < area:
                best, area = i, (x2 - x1) * (y2 - y1)
        return best

    # -- events -----------------------------------------------------------------------------------
    def mouseMoveEvent(self, ev) -> None:
        i = self.box_at(ev.position())
        if i != self._hover:
            self._hover = i
            self.setCursor(Qt.CursorShape.PointingHandCursor if i >= 0 else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(ev)

    def leaveEvent(self, ev) -> None:
        self._hover = -1
        self.update()
        super().leaveEvent(ev)

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            i = self.box_at(ev.position())
            if i >= 0:
                self._selected = i
                self.update()
                self.boxClicked.emit(i)
                return
        super().mousePressEvent(ev)

    def resizeEvent(self, ev) -> None:
        self._scaled = None
        super().resizeEvent(ev)

    def sizeHint(self) -> QSize:
        return QSize(800, 500)

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(34, 36, 40))  # a viewer stays dark in both themes
        if self._pixmap.isNull():
            p.setPen(QColor(190, 194, 200))
            f = p.font()
            f.setPointSizeF(f.pointSizeF() * 1.2)
            p.setFont(f)
            p.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self._placeholder)
            return
        t = self._target()
        if self._scaled is None or self._scaled.size() != t.size().toSize():
            self._scaled = self._pixmap.scaled(t.size().toSize(), Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation)
        p.drawPixmap(t.topLeft(), self._scaled)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        order = sorted(range(len(self._boxes)), key=lambda i: (self._boxes[i].color is not None, i == self._selected))
        for i in order:  # boxes first, then every tag above every box, so no tag is hidden
            self._paint_box(p, self._boxes[i], selected=i == self._selected, hover=i == self._hover)
        rects = self.tag_rects()
        for i in order:
            if i in rects:
                self._paint_tag(p, self._boxes[i], rects[i], selected=i == self._selected)

    def _width(self, selected: bool, hover: bool) -> int:
        return 5 if selected else (4 if hover else 3)

    def _paint_box(self, p: QPainter, b: OverlayBox, selected: bool, hover: bool) -> None:
        r = self._box_rect(b.box)
        if b.color is None:
            p.setPen(QPen(QColor(235, 235, 235, 110), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r)
            return
        width = self._width(selected, hover)
        color = QColor(b.color)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 150), width + 2))  # a dark rim keeps the box visible on any background
        p.drawRect(r)
        if selected:
            fill = QColor(color)
            fill.setAlpha(50)
            p.fillRect(r, fill)
        p.setPen(QPen(color, width))
        p.drawRect(r)

    def _tag_font(self, b: OverlayBox) -> QFont:
        f = QFont(self.font())
        f.setBold(True)
        if len(b.text) <= 3:  # the numbers of the Register page: larger, easy to read and aim at
            f.setPointSizeF(f.pointSizeF() * 1.3)
        return f

    def tag_rects(self) -> dict[int, QRectF]:
        """Where each box's tag goes (widget coordinates), so that no tag covers another: above the box's top-left
        corner, else inside it, else below it, else moved down (or sideways) until it is clear. Boxes that overlap
        (people in a group) would otherwise put their numbers on top of each other."""
        placed: dict[int, QRectF] = {}
        order = sorted(range(len(self._boxes)), key=lambda i: (self._boxes[i].box[1], self._boxes[i].box[0]))
        for i in order:
            b = self._boxes[i]
            if not b.text or b.color is None:
                continue
            r = self._box_rect(b.box)
            fm = QFontMetrics(self._tag_font(b))
            tw, th = fm.horizontalAdvance(b.text) + 10, fm.height() + 4
            width = self._width(i == self._selected, False)

            def at(x: float, y: float, tw: float = tw, th: float = th) -> QRectF:
                x = min(max(x, 0.0), max(0.0, self.width() - tw))
                y = min(max(y, 0.0), max(0.0, self.height() - th))
                return QRectF(x, y, tw, th)

            left = r.left() - width / 2
            candidates = [at(left, r.top() - th), at(left, r.top()), at(left, r.bottom()),
                          at(r.right() - tw + width / 2, r.top())]
            candidates += [at(left, r.top() + k * th) for k in range(1, 40)]
            candidates += [at(left + k * tw, r.top()) for k in range(1, 20)]
            free = [c for c in candidates if not any(c.intersects(o) for o in placed.values())]
            placed[i] = free[0] if free else candidates[0]
        return placed

    def _paint_tag(self, p: QPainter, b: OverlayBox, tag: QRectF, selected: bool) -> None:
        color = QColor(b.color)
        p.setFont(self._tag_font(b))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawRect(tag)
        p.setPen(Qt.GlobalColor.black if color.lightness() > 150 else Qt.GlobalColor.white)
        p.drawText(tag, Qt.AlignmentFlag.AlignCenter, b.text)


def local_files(mime) -> list[Path]:
    """Local paths dropped on a widget."""
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
