"""Writing a result file whole or not at all: into a `.part` file beside it, renamed onto it at the end."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from Algorithm.errors import InputError


def check_writable(dest: str | Path, protected: dict[Path, str] | None = None) -> Path:
    """Refuses, before any work is done, an output path that cannot be written or must not be: a folder, a path whose
    folder cannot be made or written, or one of `protected` (resolved path -> what it is, e.g. the gallery).
    Returns the path. Nothing is left behind."""
    dest = Path(dest)
    real = dest.resolve()
    for path, what in (protected or {}).items():
        if real == path.resolve():
            raise InputError(f"Refusing to write over {what} ({dest}): choose another output file")
    if dest.is_dir():
        raise InputError(f"{dest} is a folder: give a file name to write")
    parent = dest.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"Cannot write {dest}: {e.strerror or e}") from None
    return dest


@contextmanager
def atomic_file(dest: str | Path, part: str | None = None) -> Iterator[Path]:
    """The path to write; when the block ends it is renamed onto `dest` (a crash leaves no half file), and when the
    block fails it is removed (a failed export leaves no stray file). `part`: the temporary file's name, when its
    extension matters (a video encoder picks its format by it); default `dest`'s name + ".part"."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(part or dest.name + ".part")
    try:
        yield tmp
        tmp.replace(dest)
    except BaseException:
        if tmp.is_file():
            tmp.unlink()
        raise
