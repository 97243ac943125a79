"""sha256 of model files, and the check of a file against its manifest entry."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from Algorithm.errors import ModelError

if TYPE_CHECKING:
    from Algorithm.models.registry import ModelSpec


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=64)
def _hash_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def verify(spec: ModelSpec, path: Path) -> None:
    """Raises ModelError naming the file when it does not match the manifest's sha256."""
    if not spec.sha256:
        return
    st = path.stat()
    got = _hash_cached(str(path), st.st_size, st.st_mtime_ns)
    if got != spec.sha256:
        raise ModelError(
            f"Model file {path} is corrupt or not the expected one (sha256 {got[:12]}…, expected {spec.sha256[:12]}…). "
            f"Delete it and run install again (or `python -m Algorithm models fetch`)."
        )
