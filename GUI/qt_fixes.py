"""Work-around for a bug of the installed Qt binding, applied once when GUI is imported (GUI/__init__.py).

PySide6 6.12.0 (the cp310-abi3 wheel) on Python 3.11: a binding call that returns None, True or False
(`setText`, `processEvents`, `item.data()` without data, `Signal.emit()`, ...) hands the object back without
taking a reference to it, so every such call takes one reference away from None or a bool. Python 3.12 made
these objects immortal, so the wheel is fine there; on 3.10/3.11 the count reaches zero after some thousands
of calls and the interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"), e.g. during a search.

The leak is measured here, never assumed from version numbers. Where it is found, None, True and False get
2**30 extra references, which is what Python 3.12 does for them (they are never freed in any case).
Where the binding is sound (or on Python >= 3.12), nothing is changed.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject

PROBES = 16
EXTRA_REFS = 1 << 30


def binding_steals_references() -> bool:
    """Whether a binding call returning None takes a reference away from None (measured on a scratch QObject)."""
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBES):
        probe.setObjectName("probe")  # returns None
    return before - sys.getrefcount(None) >= PROBES // 2


def fix_singleton_refcounts() -> bool:
    """Makes None, True and False effectively immortal where the binding steals references; True when it did."""
    if sys.version_info >= (3, 12) or getattr(sys, "_reid_singletons_fixed", False):
        return False  # immortal already, or done
    if not binding_steals_references():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += EXTRA_REFS  # ob_refcnt: the first field of every object
    sys._reid_singletons_fixed = True
    return True
