"""PyTorch definitions of the ReID architectures `python -m Algorithm export` turns into ONNX.

Each family module has `build(...)` (the test-time network, no classifier) and `prepare(state_dict, ...)`
(maps a real-world checkpoint's keys onto the network's and says what it dropped). The default sizes are the
published ones, so real checkpoints fit; options (`--arch-opt KEY=VALUE`) make other widths and small test
networks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from Algorithm.rules import CLIP_MEAN as CLIP_REID_MEAN
from Algorithm.rules import CLIP_STD as CLIP_REID_STD
from Algorithm.rules import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class ArchInfo:
    name: str
    family: str  # "osnet" | "bot" | "clip" | "mobilenetv2"
    title: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    # category -> (height, width) at which the family is trained and run
    input_size: dict = field(default_factory=dict)
    # category -> default match distance (1 - cosine) when --threshold is not given
    threshold: dict = field(default_factory=dict)
    neck_feat: str = ""  # default test-time feature for families with a BNNeck ("before" | "after")


_CNN_SIZE = {"person": (256, 128), "vehicle": (256, 128)}
_CNN_THRESHOLD = {"person": 0.25, "vehicle": 0.25}  # like the shipped OSNet; calibrate to tune

ARCHS: dict[str, ArchInfo] = {
    "osnet_x0_25": ArchInfo("osnet_x0_25", "osnet", "OSNet x0.25", IMAGENET_MEAN, IMAGENET_STD, _CNN_SIZE, _CNN_THRESHOLD),
    "osnet_x0_5": ArchInfo("osnet_x0_5", "osnet", "OSNet x0.5", IMAGENET_MEAN, IMAGENET_STD, _CNN_SIZE, _CNN_THRESHOLD),
    "osnet_x0_75": ArchInfo("osnet_x0_75", "osnet", "OSNet x0.75", IMAGENET_MEAN, IMAGENET_STD, _CNN_SIZE, _CNN_THRESHOLD),
    "osnet_x1_0": ArchInfo("osnet_x1_0", "osnet", "OSNet x1.0", IMAGENET_MEAN, IMAGENET_STD, _CNN_SIZE, _CNN_THRESHOLD),
    "resnet50_bot": ArchInfo("resnet50_bot", "bot", "ResNet-50 BoT (BNNeck)", IMAGENET_MEAN, IMAGENET_STD, _CNN_SIZE,
                             _CNN_THRESHOLD, neck_feat="after"),
    "clip_reid_vitb16": ArchInfo("clip_reid_vitb16", "clip", "CLIP-ReID ViT-B/16", CLIP_REID_MEAN, CLIP_REID_STD,
                                 {"person": (256, 128), "vehicle": (256, 256)}, {"person": 0.1, "vehicle": 0.2},
                                 neck_feat="before"),
    # ImageNet classification features, not a ReID model: the generic vehicle descriptor (see models.json). Input
    # 224x224 (square, as its package resizes); threshold calibrated on the traffic videos (README, Models).
    "mobilenetv2_imagenet": ArchInfo("mobilenetv2_imagenet", "mobilenetv2", "MobileNetV2 (ImageNet, generic)",
                                     IMAGENET_MEAN, IMAGENET_STD, {"person": (224, 224), "vehicle": (224, 224)},
                                     {"person": 0.2, "vehicle": 0.2}),
}


def arch_info(name: str) -> ArchInfo:
    try:
        return ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHS)}") from None
