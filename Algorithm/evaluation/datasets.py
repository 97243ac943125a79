"""Labelled data for the evaluation, as crop sets: Market-1501-style folders (identity and camera in the file
name) and MOT sequences (ground-truth boxes of img1/ frames), and embedding a crop set with any extractor."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from Algorithm import media
from Algorithm.errors import Cancelled, InputError
from Algorithm.pipeline.embed import crop
from Algorithm.types import Cancel

Progress = Callable[[str], None]
# What the evaluation needs of a ReID model: BGR crops in, one L2-normalised feature per crop out, (N, D).
Extractor = Callable[[list[np.ndarray]], np.ndarray]

# Market-1501 / DukeMTMC / VeRi style names: PID_cCAM..., PID -1 is junk, 0000 are distractors.
MARKET_RE = re.compile(r"^(-1|\d+)_c(\d+)")


@dataclass
class CropSet:
    """Crops to embed, with identity, 'camera' and group; `loader(indices)` gives those crops as BGR (lazy: big folders)."""

    names: list[str]
    pids: np.ndarray
    cams: np.ndarray
    groups: np.ndarray  # pairs are only formed inside a group (one MOT sequence, or the whole Market folder)
    loader: Callable[[list[int]], list[np.ndarray]]
    kind: str  # "market" | "mot"
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)


def embed_crops(extractor: Extractor, cs: CropSet, chunk: int = 256, progress: Progress | None = None,
                cancel: Cancel | None = None) -> np.ndarray:
    """(N, D) features of a crop set, reading `chunk` crops at a time (bounded memory); raises Cancelled between
    chunks once `cancel()` is true."""
    out = []
    for s in range(0, len(cs), chunk):
        if cancel and cancel():
            raise Cancelled("Stopped")
        idx = list(range(s, min(s + chunk, len(cs))))
        out.append(extractor(cs.loader(idx)))
        if progress:
            progress(f"embedded {idx[-1] + 1}/{len(cs)} crops")
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def crop_set(path: str | Path, flt: GtFilter | None = None) -> tuple[CropSet, CropSet | None]:
    """Any evaluation folder: MOT sequence(s), a Market split, or one Market-named folder."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"Not found: {p}")
    if p.is_dir() and (is_mot_sequence(p) or any(is_mot_sequence(d) for d in p.iterdir() if d.is_dir())):
        return mot_crops(p, flt or GtFilter()), None
    return market_split(p)


# -- Market-1501 naming -----------------------------------------------------------------------------------
def parse_market_name(name: str) -> tuple[int, int] | None:
    """(pid, camera) from 'PID_cCAMsSEQ_FRAME_NN.jpg' (also VeRi 'PID_cCCC_...'); None if the name does not fit."""
    m = MARKET_RE.match(Path(name).name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _market_files(folder: Path) -> tuple[list[Path], list[tuple[int, int]], int]:
    files, ids, skipped = [], [], 0
    for f in media.list_media(folder):
        if media.media_kind(f) != "image":
            continue
        pc = parse_market_name(f.name)
        if pc is None:
            skipped += 1
            continue
        files.append(f)
        ids.append(pc)
    return files, ids, skipped


def _market_set(root: Path, files: list[Path], ids: list[tuple[int, int]], notes: list[str]) -> CropSet:
    return CropSet([str(f.relative_to(root)) for f in files], np.array([p for p, _ in ids]), np.array([c for _, c in ids]),
                   np.zeros(len(files), int), lambda idx: [media.read_image(files[i]) for i in idx], "market", notes)


def market_split(folder: str | Path) -> tuple[CropSet, CropSet | None]:
    """(query, gallery) of a Market-1501 layout (query/ + bounding_box_test/), or (all, None) for one folder
    of Market-named images where each image in turn is the query against all the others."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"Not a folder: {folder}")
    q_dir, g_dir = folder / "query", folder / "bounding_box_test"
    if q_dir.is_dir() and g_dir.is_dir():
        parts = []
        for d in (q_dir, g_dir):
            files, ids, skipped = _market_files(d)
            if not files:
                raise InputError(f"No Market-1501-named images (PID_cCAM..._NN.jpg) in {d}")
            notes = [f"{skipped} image(s) in {d.name}/ without a PID_cCAM name were skipped"] if skipped else []
            parts.append(_market_set(folder, files, ids, notes))
        return parts[0], parts[1]
    files, ids, skipped = _market_files(folder)
    if not files:
        raise InputError(f"No Market-1501-named images (PID_cCAM..._NN.jpg) in {folder}, and no query/ + bounding_box_test/")
    notes = [f"{skipped} image(s) without a PID_cCAM name were skipped"] if skipped else []
    return _market_set(folder, files, ids, notes), None


# -- MOT sequences ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GtFilter:
    """Which MOT ground-truth rows count: consider-flag 1, class 1 (pedestrian), visible and big enough."""

    min_visibility: float = 0.5
    min_height: float = 50.0
    classes: tuple[int, ...] = (1,)

    def describe(self) -> str:
        return (f"GT rows with consider-flag 1, class {','.join(map(str, self.classes))} (pedestrian), "
                f"visibility >= {self.min_visibility:g}, box height >= {self.min_height:g} px")

    def to_json(self) -> dict:
        return {"consider_flag": 1, "classes": list(self.classes), "min_visibility": self.min_visibility,
                "min_height": self.min_height, "text": self.describe()}


def is_mot_sequence(path: Path) -> bool:
    return (path / "gt" / "gt.txt").is_file() and (path / "img1").is_dir()


def mot_sequences(path: str | Path) -> list[Path]:
    """The sequence itself, or the sequences directly inside a folder (sorted)."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"Not a folder: {p}")
    if is_mot_sequence(p):
        return [p]
    seqs = sorted((d for d in p.iterdir() if d.is_dir() and is_mot_sequence(d)), key=lambda d: d.name.lower())
    if not seqs:
        raise InputError(f"{p} is not a MOT sequence (img1/ + gt/gt.txt) and holds none")
    return seqs


def read_mot_gt(seq: Path) -> np.ndarray:
    """gt.txt as an (N, 9) float array: frame, id, x, y, w, h, flag, class, visibility."""
    path = seq / "gt" / "gt.txt"
    try:
        data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except (OSError, ValueError) as e:
        raise InputError(f"Cannot read MOT ground truth {path}: {e}") from e
    if data.size == 0:
        return np.zeros((0, 9))
    if data.shape[1] < 6:
        raise InputError(f"{path} has {data.shape[1]} columns; MOT ground truth has at least 6")
    if data.shape[1] < 9:  # files without flag/class/visibility columns: every row counts
        data = np.hstack([data, np.ones((len(data), 9 - data.shape[1]))])
    return data[:, :9]


def mot_frames(seq: Path) -> dict[int, Path]:
    """frame number -> image file (img1/000001.jpg is frame 1)."""
    out = {}
    for f in (seq / "img1").iterdir():
        if f.is_file() and media.media_kind(f) == "image" and f.stem.isdigit():
            out[int(f.stem)] = f
    return dict(sorted(out.items()))


def filter_gt(gt: np.ndarray, flt: GtFilter) -> np.ndarray:
    keep = (gt[:, 6] == 1) & np.isin(gt[:, 7].astype(int), flt.classes) & (gt[:, 8] >= flt.min_visibility)
    keep &= gt[:, 5] >= flt.min_height
    return gt[keep]


def xywh_to_xyxy(row) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in row[2:6])
    return (x, y, x + w, y + h)


def mot_crops(path: str | Path, flt: GtFilter | None = None) -> CropSet:
    """Ground-truth crops of one or several MOT sequences. pid = sequence * 100000 + track id; the 'camera' of a
    crop is its frame (so same-identity pairs are always across frames); each sequence is its own group."""
    flt = flt or GtFilter()
    seqs = mot_sequences(path)
    names, pids, cams, groups, refs = [], [], [], [], []
    for si, seq in enumerate(seqs):
        frames = mot_frames(seq)
        gt = filter_gt(read_mot_gt(seq), flt)
        for row in gt[np.lexsort((gt[:, 1], gt[:, 0]))]:  # frame by frame: each frame is decoded once
            fr = int(row[0])
            if fr not in frames:
                continue
            names.append(f"{seq.name}/f{fr:06d}/id{int(row[1])}")
            pids.append(si * 100000 + int(row[1]))
            cams.append(si * 100000 + fr)
            groups.append(si)
            refs.append((frames[fr], xywh_to_xyxy(row)))

    def load(idx: list[int]) -> list[np.ndarray]:
        cache: dict[Path, np.ndarray] = {}
        out = []
        for i in idx:
            f, box = refs[i]
            if f not in cache:
                cache.clear()
                cache[f] = media.read_image(f)
            out.append(crop(cache[f], box))
        return out

    if not names:
        raise InputError(f"No ground-truth box in {path} passes the filter ({flt.describe()})")
    return CropSet(names, np.array(pids), np.array(cams), np.array(groups), load, "mot", [flt.describe()])
