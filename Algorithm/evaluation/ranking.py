"""Which gallery photos are nearest to a query? The query's crop under the app's crop policy, and the exact
ranking of every stored photo of a category (for the ranked-results picture and the `rank` command)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from Algorithm import media
from Algorithm.errors import InputError
from Algorithm.pipeline.crop_policy import CropChoice, crop_box
from Algorithm.types import EntryInfo

# The app's crop policy bound to its detector: (source, category, box, whole, several) -> (image, choice),
# i.e. Engine.choose_crop.
CropPolicy = Callable[..., tuple[np.ndarray, CropChoice]]


@dataclass(frozen=True)
class QueryCrop:
    crop: np.ndarray  # BGR
    box: tuple[float, float, float, float]
    how: str  # said to the user: "given box", "most confident of 3 detections", ...


def query_crop(choose_crop: CropPolicy, source: str | Path | np.ndarray, category: str = "person", box=None,
               whole: bool = False) -> QueryCrop:
    """The query's crop under the app's crop policy, taking the most confident of several detections."""
    img, choice = choose_crop(source, category, box, whole, several="best")
    return QueryCrop(crop_box(img, choice.box), choice.box, choice.how)


@dataclass(frozen=True)
class GalleryFeatures:
    """What ranking needs of a gallery: the features of one category under one model, the labels, and the
    photos of an identity (for the crops shown), e.g. Engine.gallery_features / labels_by_id / entries."""

    entry_ids: np.ndarray
    identity_ids: np.ndarray
    vecs: np.ndarray  # (N, D), L2-normalised
    labels: Mapping[int, str]
    entries: Callable[[int], Iterable[EntryInfo]]
    category: str = "person"
    model: str = ""


@dataclass(frozen=True)
class RankedPhoto:
    rank: int  # 1-based
    entry_id: int
    identity_id: int
    label: str
    distance: float
    crop: np.ndarray | None  # BGR; None when the photo could not be read back

    def to_json(self) -> dict:
        return {"rank": self.rank, "entry_id": self.entry_id, "identity_id": self.identity_id, "label": self.label,
                "distance": self.distance}


@dataclass(frozen=True)
class Ranking:
    """A query and its nearest gallery photos; a photo matches when its distance is below `threshold`."""

    query: QueryCrop
    photos: list[RankedPhoto]
    threshold: float

    def is_match(self, photo: RankedPhoto) -> bool:
        return photo.distance < self.threshold


def rank_gallery(query_feature: np.ndarray, gallery: GalleryFeatures, top: int = 5,
                 per_identity: bool = False) -> list[RankedPhoto]:
    """The `top` gallery photos (or identities) nearest to a query feature: exact distances over every stored photo."""
    if len(gallery.entry_ids) == 0:
        raise InputError(f"The gallery holds no {gallery.category} photos embedded with model '{gallery.model}'")
    dist = 1.0 - gallery.vecs @ np.asarray(query_feature, np.float32).reshape(-1)
    order = np.argsort(dist, kind="stable")
    picked: list[tuple[int, int, float]] = []
    seen: set[int] = set()
    for i in order:
        ident = int(gallery.identity_ids[i])
        if per_identity and ident in seen:
            continue
        seen.add(ident)
        picked.append((int(gallery.entry_ids[i]), ident, float(dist[i])))
        if len(picked) >= top:
            break
    crops = {e.id: e.crop_jpeg for ident in {p[1] for p in picked} for e in gallery.entries(ident)}
    return [
        RankedPhoto(k + 1, entry, ident, gallery.labels.get(ident, f"#{ident}"), d,
                    media.decode_image_bytes(crops[entry]) if entry in crops else None)
        for k, (entry, ident, d) in enumerate(picked)
    ]
