"""The Process page's list of this session's runs (and results files opened), so that opening another file or
processing again never loses earlier results: choosing one shows it again."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy

from Algorithm.outer_api import SearchReport


@dataclass(eq=False)  # one run is one entry: compared by identity
class Run:
    report: SearchReport
    opened_from: str = ""  # the results file it was read from; "" for a run of this session
    number: int = 0  # its place in the list (RunsBox.add): two runs of one file in the same second stay apart
    cannot_go_on: str = ""  # why Continue was refused for good (the stopped file was replaced since)

    @property
    def resumable(self) -> bool:
        """A stopped run of this session (one read from a file may come from another gallery)."""
        return (not self.opened_from and not self.cannot_go_on
                and any(f.stopped and not f.error for f in self.report.files))

    def title(self) -> str:
        r = self.report
        try:
            when = datetime.fromisoformat(r.created).astimezone().strftime("%H:%M:%S")
        except ValueError:
            when = r.created
        n = sum(len(s.segments) for f in r.files for s in f.sightings)
        parts = [Path(r.root).name or r.root, when, f"{n} sighting{'s' if n != 1 else ''}"]
        if self.number:
            parts[0] = f"{self.number}. {parts[0]}"
        if any(f.stopped for f in r.files):
            parts.append("stopped")
        if self.opened_from:
            parts.append(f"from {Path(self.opened_from).name}")
        return " \u00b7 ".join(parts)


class RunsBox(QComboBox):
    """`runChosen(Run)` when the user picks a run; none is current while a new file waits to be processed."""

    runChosen = Signal(object)
    HELP = "This session's runs and the results files opened: choose one to see its results again"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._runs: list[Run] = []
        self.setPlaceholderText("No results yet")
        self.setToolTip(self.HELP)
        self.currentIndexChanged.connect(lambda _i: self._tip_current())
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.activated.connect(lambda i: self.runChosen.emit(self._runs[i]))

    def runs(self) -> list[Run]:
        return list(self._runs)

    def current_run(self) -> Run | None:
        i = self.currentIndex()
        return self._runs[i] if 0 <= i < len(self._runs) else None

    def add(self, run: Run, current: bool = True) -> None:
        """Adds `run`, as the current one unless `current` is False."""
        before = self.currentIndex()
        run.number = len(self._runs) + 1
        self._runs.append(run)
        self.addItem(run.title())
        self._set_tip(self.count() - 1, run)
        self.setCurrentIndex(self.count() - 1 if current else before)  # a first item would become current by itself
        self._say_placeholder()

    def _set_tip(self, i: int, run: Run) -> None:
        """The whole title (the box is often too narrow for it) and where the results come from."""
        self.setItemData(i, f"{run.title()}\n{run.opened_from or run.report.root}", Qt.ItemDataRole.ToolTipRole)
        if i == self.currentIndex():
            self._tip_current()

    def _tip_current(self) -> None:
        i = self.currentIndex()
        self.setToolTip(self.itemData(i, Qt.ItemDataRole.ToolTipRole) if i >= 0 else self.HELP)

    def replace_current(self, run: Run) -> None:
        """The current run, resumed: its merged report takes its place."""
        i = self.currentIndex()
        if i < 0:
            return self.add(run)
        run.number = self._runs[i].number
        self._runs[i] = run
        self.setItemText(i, run.title())
        self._set_tip(i, run)

    def update_report(self, run: Run, report: SearchReport) -> None:
        """`run`'s results changed in place (verdicts applied): the entry keeps the new ones."""
        run.report = report
        if run in self._runs:
            i = self._runs.index(run)
            self.setItemText(i, run.title())
            self._set_tip(i, run)

    def choose(self, index: int) -> None:
        """Makes run `index` current and emits runChosen (as the user's pick does)."""
        self.setCurrentIndex(index)
        self.runChosen.emit(self._runs[index])

    def deselect(self) -> None:
        self.setCurrentIndex(-1)

    def _say_placeholder(self) -> None:
        """What the box says while no run is chosen: none yet, or how many earlier ones can be chosen."""
        n = len(self._runs)
        self.setPlaceholderText(f"{n} earlier run{'s' if n != 1 else ''}: choose one" if n else "No results yet")
