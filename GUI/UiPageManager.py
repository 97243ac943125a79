"""Manager page: the gallery's identities in a table, their photos, rename/delete/merge, filter, backup/restore, and
the verdicts given on the Process page to the selected identity's sightings (confirmed / rejected), with Undo."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import CATEGORIES, Engine, IdentityInfo, MergeResult, ReIdError, Verdict
from GUI.identity_model import THUMB_H, THUMB_W, IdentityTableModel
from GUI.widgets import confirm, fmt_date, hint_label, jpeg_pixmap, show_error

BACKUP_FILTER = "Gallery backup (*.db);;All files (*)"


VERDICT_THUMB_H = 48


def verdict_text(v: Verdict) -> str:
    """One line of the verdicts list: what was said, where, when."""
    said = "\u2713 Confirmed" if v.verdict == "confirm" else f"\u2717 Rejected (not {v.label})"
    frames = f"frame {v.start_frame}" if v.start_frame == v.end_frame else f"frames {v.start_frame}\u2013{v.end_frame}"
    return f"{said}\n{Path(v.source).name} \u00b7 {frames}\n{fmt_date(v.created)}"


class ManagerPage(QWidget):
    """Emits `galleryChanged()` after anything in the gallery changed, `verdictsChanged()` after an Undo."""

    galleryChanged = Signal()
    verdictsChanged = Signal()

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self._build()
        self.refresh()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by label\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.cat_filter = QComboBox()
        self.cat_filter.addItem("All categories", None)
        for c in CATEGORIES:
            self.cat_filter.addItem(c.capitalize() + "s", c)
        self.cat_filter.currentIndexChanged.connect(self.refresh)
        self.count = hint_label(wrap=False)
        self.count.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.backup_btn = QPushButton("Backup\u2026")
        self.backup_btn.setToolTip("Save the whole gallery to one file")
        self.backup_btn.clicked.connect(lambda: self.backup())
        self.restore_btn = QPushButton("Restore\u2026")
        self.restore_btn.setToolTip("Replace the gallery with a backup file")
        self.restore_btn.clicked.connect(lambda: self.restore())
        top = QHBoxLayout()
        top.addWidget(self.search, 2)
        top.addWidget(self.cat_filter)
        top.addWidget(self.count, 1)
        top.addWidget(self.backup_btn)
        top.addWidget(self.restore_btn)

        self.model = IdentityTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Ctrl/Shift-click selects two identities to merge; rename and delete act on one.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setIconSize(QSize(THUMB_W, THUMB_H))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB_H + 8)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _: self.rename_selected())

        self.photos_title = QLabel("Select an identity to see its photos.")
        self.photos = QListWidget()
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(QSize(96, 160))
        self.photos.setGridSize(QSize(118, 196))
        self.photos.setResizeMode(QListView.ResizeMode.Adjust)
        self.photos.setMovement(QListView.Movement.Static)
        self.photos.setWordWrap(True)
        self.photos.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.rename_btn = QPushButton("Rename\u2026")
        self.rename_btn.clicked.connect(lambda: self.rename_selected())
        self.del_photo_btn = QPushButton("Delete photo")
        self.del_photo_btn.clicked.connect(lambda: self.delete_selected_photo())
        self.del_ident_btn = QPushButton("Delete identity")
        self.del_ident_btn.clicked.connect(lambda: self.delete_selected_identity())
        self.merge_btn = QPushButton("Merge\u2026")
        self.merge_btn.setToolTip("Select two identities (Ctrl+click) of the same person or vehicle to make them one, "
                                  "keeping all their photos")
        self.merge_btn.clicked.connect(lambda: self.merge_selected())
        btns = QHBoxLayout()
        for b in (self.rename_btn, self.del_photo_btn, self.del_ident_btn, self.merge_btn):
            btns.addWidget(b)
        box = QGroupBox("Photos")
        bl = QVBoxLayout(box)
        bl.addWidget(self.photos_title)
        bl.addWidget(self.photos, 1)
        bl.addLayout(btns)

        # the verdicts given on the Process page to this identity's sightings
        self.verdicts = QListWidget()
        self.verdicts.setIconSize(QSize(VERDICT_THUMB_H * 2 // 3, VERDICT_THUMB_H))
        self.verdicts.setAlternatingRowColors(True)
        self.verdicts.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.verdicts_hint = hint_label()
        self.undo_btn = QPushButton("Undo")
        self.undo_btn.setToolTip("Forget the selected verdict: from the next run on, that track may be given this "
                                 "identity again (a confirmed sighting's added photo stays among the photos)")
        self.undo_btn.clicked.connect(lambda: self.undo_selected_verdict())
        undo_row = QHBoxLayout()
        undo_row.addWidget(self.verdicts_hint, 1)
        undo_row.addWidget(self.undo_btn)
        vbox = QGroupBox("Confirmed and rejected sightings")
        vl = QVBoxLayout(vbox)
        vl.addWidget(self.verdicts, 1)
        vl.addLayout(undo_row)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(box)
        right.addWidget(vbox)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setChildrenCollapsible(False)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.empty_hint = hint_label("The gallery is empty. Register someone on the Register page first.")
        lay.addWidget(self.empty_hint)

    # -- reading ----------------------------------------------------------------------------------
    def refresh(self, select: list[int] | None = None) -> None:
        """Reloads the table (cheap SQLite reads), keeping the selected identities that still exist (or selecting
        `select`, identity ids)."""
        keep = select if select is not None else [i.id for i in self.selected_identities()]
        items = self.engine.identities(self.search.text().strip(), self.cat_filter.currentData())
        self.model.set_items(items)
        self.table.resizeColumnToContents(0)
        all_items = self.engine.identities() if (self.search.text() or self.cat_filter.currentData()) else items
        n_photos = sum(i.n_entries for i in all_items)
        shown = f"{len(items)} of {len(all_items)}" if len(items) != len(all_items) else str(len(items))
        self.count.setText(f"{shown} identit{'y' if len(all_items) == 1 else 'ies'}, "
                           f"{n_photos} photo{'s' if n_photos != 1 else ''}")
        self.empty_hint.setVisible(not all_items)
        rows = [r for r in (self.model.row_of(i) for i in keep) if r >= 0]
        if not rows and items:
            rows = [0]
        self.select_rows(rows)

    def select_rows(self, rows: list[int]) -> None:
        """Selects these table rows (the first becomes the current one)."""
        sel = self.table.selectionModel()
        sel.clearSelection()
        for r in rows:
            sel.select(self.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        if rows:
            sel.setCurrentIndex(self.model.index(rows[0], 1), QItemSelectionModel.SelectionFlag.NoUpdate)
        self._show_photos()

    def selected_identities(self) -> list[IdentityInfo]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [i for i in (self.model.identity(r.row()) for r in sorted(rows, key=lambda r: r.row())) if i is not None]

    def selected_identity(self) -> IdentityInfo | None:
        """The one selected identity (None when none or several are selected)."""
        sel = self.selected_identities()
        return sel[0] if len(sel) == 1 else None

    def _selection_changed(self, *_) -> None:
        self._show_photos()

    def _show_photos(self) -> None:
        self.photos.clear()
        chosen = self.selected_identities()
        if not chosen:
            self.photos_title.setText("Select an identity to see its photos.")
            self._update_buttons()
            return
        if len(chosen) == 1:
            info = chosen[0]
            self.photos_title.setText(f"<b>{info.label}</b> \u2013 {info.category}, "
                                      f"{info.n_entries} photo{'s' if info.n_entries != 1 else ''}")
        else:
            names = " and ".join(f"<b>{i.label}</b> ({i.n_entries})" for i in chosen[:3]) + (" \u2026" if len(chosen) > 3 else "")
            hint = ("Merge\u2026 makes them one identity with all these photos." if len(chosen) == 2
                    else "Select two identities to merge them.")
            self.photos_title.setText(f"{len(chosen)} identities selected: {names}.<br>{hint}")
        self.photos_title.setWordWrap(True)
        for info in chosen:
            self._add_photos(info, several=len(chosen) > 1)
        if self.photos.count():
            self.photos.setCurrentRow(0)
        self._show_verdicts()
        self._update_buttons()

    def _show_verdicts(self) -> None:
        """The selected identity's verdicts, newest first."""
        self.verdicts.clear()
        info = self.selected_identity()
        items = list(reversed(self.engine.verdicts(info.id))) if info is not None else []
        for v in items:
            item = QListWidgetItem(QIcon(jpeg_pixmap(v.thumbnail, VERDICT_THUMB_H)), verdict_text(v))
            item.setData(Qt.ItemDataRole.UserRole, v.id)
            item.setToolTip(f"{v.source}\n{v.n_boxes} box{'es' if v.n_boxes != 1 else ''} of {v.label}")
            self.verdicts.addItem(item)
        if info is None:
            self.verdicts_hint.setText("Select one identity to see its verdicts.")
        elif not items:
            self.verdicts_hint.setText(f"None yet. After processing, right-click a sighting of {info.label} on the "
                                       "Process page to confirm or reject it.")
        else:
            self.verdicts_hint.setText(f"{len(items)} verdict{'s' if len(items) != 1 else ''} on {info.label}\u2019s "
                                       "sightings; a rejected one is never given this identity again.")

    def _add_photos(self, info: IdentityInfo, several: bool) -> None:
        for e in self.engine.entries(info.id):
            date = fmt_date(e.created).split(" ")[0]
            item = QListWidgetItem(QIcon(jpeg_pixmap(e.crop_jpeg, 160)), f"{info.label}\n{date}" if several else date)
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            src = Path(e.source).name if e.source else "a video frame or pasted image"
            box = ", ".join(str(int(round(v))) for v in e.box) if e.box else "whole photo"
            item.setToolTip(f"Photo {e.id} of {info.label}\nFrom: {src}\nBox: {box}\nAdded: {fmt_date(e.created)}\n"
                            f"Model: {e.model}")
            self.photos.addItem(item)

    def _update_buttons(self) -> None:
        has = self.selected_identity() is not None
        self.rename_btn.setEnabled(has)
        self.del_ident_btn.setEnabled(has)
        self.del_photo_btn.setEnabled(has and self.photos.currentItem() is not None)
        self.merge_btn.setEnabled(len(self.selected_identities()) == 2)
        self.undo_btn.setEnabled(self.verdicts.currentItem() is not None)

    # -- changes ----------------------------------------------------------------------------------
    def _changed(self) -> None:
        self.refresh()
        self.galleryChanged.emit()

    def _run(self, title: str, fn) -> bool:
        try:
            fn()
        except (ReIdError, OSError) as e:
            show_error(self, title, str(e))
            return False
        return True

    def rename_selected(self, new_label: str | None = None) -> bool:
        info = self.selected_identity()
        if info is None:
            return False
        if new_label is None:
            new_label, ok = QInputDialog.getText(self, "Rename", f"New label for \u201c{info.label}\u201d:",
                                                 QLineEdit.EchoMode.Normal, info.label)
            if not ok:
                return False
        new_label = new_label.strip()
        if not new_label or new_label == info.label:
            return False
        if self._run("Cannot rename", lambda: self.engine.rename(info.id, new_label)):
            self._changed()
            return True
        return False

    def delete_selected_photo(self) -> bool:
        info, item = self.selected_identity(), self.photos.currentItem()
        if info is None or item is None:
            return False
        last = info.n_entries <= 1
        text = (f"Delete this photo of \u201c{info.label}\u201d?"
                + ("\n\nIt is the last one, so the identity will be deleted too." if last else ""))
        if not confirm(self, "Delete photo", text):
            return False
        if self._run("Cannot delete", lambda: self.engine.delete_entry(item.data(Qt.ItemDataRole.UserRole))):
            self._changed()
            return True
        return False

    def delete_selected_identity(self) -> bool:
        info = self.selected_identity()
        if info is None:
            return False
        if not confirm(self, "Delete identity", f"Delete \u201c{info.label}\u201d and all "
                       f"{info.n_entries} of its photos? This cannot be undone."):
            return False
        if self._run("Cannot delete", lambda: self.engine.delete_identity(info.id)):
            self._changed()
            return True
        return False

    def merge_box(self, a: IdentityInfo, b: IdentityInfo) -> QMessageBox:
        """The merge confirmation: keep one label or the other, or No (the default, also on Escape)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Merge identities", "", QMessageBox.StandardButton.No, self)
        n = a.n_entries + b.n_entries
        box.setText(f"Make \u201c{a.label}\u201d ({a.n_entries} photo{'s' if a.n_entries != 1 else ''}) and "
                    f"\u201c{b.label}\u201d ({b.n_entries} photo{'s' if b.n_entries != 1 else ''}) one identity?")
        box.setInformativeText(f"All {n} photos are kept, under the label you choose; the other label is removed. "
                               "This cannot be undone.")
        for info in (a, b):
            btn = box.addButton(f"Merge into \u201c{info.label}\u201d", QMessageBox.ButtonRole.AcceptRole)
            btn.setProperty("identity_id", info.id)
        no = box.button(QMessageBox.StandardButton.No)
        no.setText("No, keep both")
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        return box

    def _ask_merge(self, a: IdentityInfo, b: IdentityInfo) -> int | None:
        """The identity id to keep, or None (No)."""
        box = self.merge_box(a, b)
        box.exec()
        clicked = box.clickedButton()
        keep = clicked.property("identity_id") if clicked is not None else None
        return int(keep) if keep is not None else None

    def merge_selected(self, keep_id: int | None = None) -> MergeResult | None:
        """Merges the two selected identities into the one the user keeps (asked, unless `keep_id` is given)."""
        chosen = self.selected_identities()
        if len(chosen) != 2:
            return None
        a, b = sorted(chosen, key=lambda i: -i.n_entries)  # the one with more photos offered first
        if a.category != b.category:  # the engine refuses and says why; nothing to ask
            self._run("Cannot merge", lambda: self.engine.merge_identities(a.id, b.id))
            return None
        if keep_id is None:
            keep_id = self._ask_merge(a, b)
            if keep_id is None:
                return None
        other = b if keep_id == a.id else a
        out: list[MergeResult] = []
        if not self._run("Cannot merge", lambda: out.append(self.engine.merge_identities(keep_id, other.id))):
            return None
        self.refresh(select=[keep_id])
        self.galleryChanged.emit()
        return out[0]

    def undo_selected_verdict(self) -> bool:
        """Forgets the selected verdict (no question: the verdict is what is undone, and it can be given again)."""
        item = self.verdicts.currentItem()
        if item is None:
            return False
        if not self._run("Cannot undo", lambda: self.engine.undo_verdict(item.data(Qt.ItemDataRole.UserRole))):
            return False
        self._show_verdicts()
        self._update_buttons()
        self.verdictsChanged.emit()
        return True

    def backup(self, path: str | None = None) -> bool:
        if path is None:
            name = f"reid-gallery-{datetime.now():%Y-%m-%d}.db"
            path, _ = QFileDialog.getSaveFileName(self, "Back up the gallery", name, BACKUP_FILTER)
            if not path:
                return False
        if self._run("Backup failed", lambda: self.engine.backup(path)):
            QMessageBox.information(self, "Backup", f"The gallery was saved to\n{path}")
            return True
        return False

    def restore(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Restore the gallery from a backup", "", BACKUP_FILTER)
            if not path:
                return False
        if not Path(path).is_file():  # said before asking to replace anything
            show_error(self, "Restore failed", f"There is no backup file at {path}")
            return False
        if not confirm(self, "Restore", "Replace the whole gallery with this backup?\n\n"
                       "Everything registered since the backup will be lost."):
            return False
        if self._run("Restore failed", lambda: self.engine.restore(path)):
            self._changed()
            return True
        return False

    def shutdown(self) -> None:
        """Nothing long runs here (gallery reads and writes are quick SQLite calls)."""
