"""What makes an exported folder checkable: the app's version, and the sha256 of every file in it.

`manifest.json` (read by the app) and `SHA256SUMS` (`sha256sum -c SHA256SUMS` checks it with no app at all) list
the same files; neither lists itself or the other.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from Algorithm.models.checksum import sha256_of

MANIFEST, SUMS = "manifest.json", "SHA256SUMS"
_PROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@lru_cache(maxsize=1)
def app_version() -> str:
    """The version in pyproject.toml (its one home): from the installed metadata, else from the file itself (a
    checkout run without `pip install -e .`)."""
    from importlib import metadata

    try:
        return metadata.version("reid-desktop")
    except metadata.PackageNotFoundError:
        pass
    try:
        m = re.search(r'^version\s*=\s*"([^"]+)"', _PROJECT.read_text(encoding="utf-8"), re.M)
    except OSError:
        m = None
    return m.group(1) if m else "unknown"


def _listed(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() not in (MANIFEST, SUMS))


def write_manifest(folder: str | Path, created: str) -> Path:
    """Hashes every file of `folder` into manifest.json and SHA256SUMS; returns the manifest's path."""
    folder = Path(folder)
    sums = {name: sha256_of(folder / name) for name in _listed(folder)}
    (folder / SUMS).write_text("".join(f"{h}  {name}\n" for name, h in sums.items()), encoding="utf-8")
    data = {"format": "reid-app-evidence", "version": 1, "created": created, "app_version": app_version(),
            "algorithm": "sha256", "files": sums}
    dest = folder / MANIFEST
    dest.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return dest


def verify_manifest(folder: str | Path) -> list[str]:
    """What no longer matches manifest.json, in words (changed, missing or added files); [] when all match."""
    folder = Path(folder)
    try:
        listed: dict[str, str] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return [f"{MANIFEST} is missing or unreadable: {e}"]
    problems = []
    for name, want in listed.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif sha256_of(path) != want:
            problems.append(f"changed: {name}")
    problems += [f"not in the manifest: {name}" for name in _listed(folder) if name not in listed]
    return problems
