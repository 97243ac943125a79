"""Writing a result file whole or not at all: into a `.part` file beside it, renamed onto it at the end."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
