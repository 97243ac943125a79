"""ResNet-50 "Bag of Tricks" baseline (Luo et al., CVPR-W 2019; reid-strong-baseline, fast-reid bagtricks_R50):
a torchvision-layout ResNet-50 with the last stride set to 1, global average pooling, and a BNNeck
(BatchNorm1d(2048), bias frozen). At test time the feature is the BNNeck output ("after", what fast-reid always
returns in eval and reid-strong-baseline's default TEST.NECK_FEAT); "before" gives the pooled 2048-d vector.

Checkpoint layouts understood (after `module.` prefixes are stripped):
- reid-strong-baseline: `base.<torchvision resnet keys>`, `bottleneck.*`, `classifier.*` (dropped);
- fast-reid: a `model` dict with `backbone.<resnet keys>`, `heads.bottleneck.0.*`, `heads.weight` /
  `heads.classifier.*` (dropped), optional `pixel_mean` / `pixel_std` (0-255 RGB; used for the preprocessing);
- bare torchvision-style: `<resnet keys>` and `bottleneck.*`, `fc.*` / `classifier.*` dropped.
fast-reid >= 1.0 uses MaxPool2d(3, 2, padding=0, ceil_mode=True) in the stem, reid-strong-baseline and torchvision
MaxPool2d(3, 2, padding=1); the layout picks it (override with the option maxpool=torchvision|fastreid).
"""
from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """torchvision v1.5 bottleneck (stride on the 3x3), as in reid-strong-baseline and fast-reid."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """torchvision ResNet key layout (conv1, bn1, layer1..4), no fc; `width` scales every stage (64 = standard)."""

    def __init__(self, block=Bottleneck, layers=(3, 4, 6, 3), width: int = 64, last_stride: int = 1,
                 maxpool: str = "torchvision"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        if maxpool == "torchvision":
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        elif maxpool == "fastreid":
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        else:
            raise ValueError(f"maxpool must be torchvision or fastreid, not {maxpool!r}")
        self.inplanes = width
        self.layer1 = self._layer(block, width, layers[0], 1)
        self.layer2 = self._layer(block, width * 2, layers[1], 2)
        self.layer3 = self._layer(block, width * 4, layers[2], 2)
        self.layer4 = self._layer(block, width * 8, layers[3], last_stride)
        self.out_channels = width * 8 * block.expansion

    def _layer(self, block, planes: int, n: int, stride: int) -> nn.Sequential:
        down = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                                 nn.BatchNorm2d(planes * block.expansion))
        blocks = [block(self.inplanes, planes, stride, down)]
        self.inplanes = planes * block.expansion
        blocks += [block(self.inplanes, planes) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class BoTBaseline(nn.Module):
    """backbone -> GAP -> (BNNeck) -> feature."""

    def __init__(self, backbone: ResNet, neck_feat: str = "after"):
        super().__init__()
        if neck_feat not in ("before", "after"):
            raise ValueError("neck_feat is before or after")
        self.backbone = backbone
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.neck_feat = neck_feat
        self.feature_dim = backbone.out_channels
        if neck_feat == "after":
            self.bottleneck = nn.BatchNorm1d(backbone.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.gap(self.backbone(x)).flatten(1)
        return self.bottleneck(f) if self.neck_feat == "after" else f


def _ints(v) -> tuple[int, ...]:
    return tuple(int(i) for i in (v if isinstance(v, (list, tuple)) else [v]))


def build(arch: str, opts: dict, neck_feat: str = "after", maxpool: str = "torchvision") -> BoTBaseline:
    opts = dict(opts)
    block = {"bottleneck": Bottleneck, "basic": BasicBlock}.get(str(opts.pop("block", "bottleneck")))
    if block is None:
        raise ValueError("block is bottleneck or basic")
    layers = _ints(opts.pop("layers", (3, 4, 6, 3)))
    if len(layers) != 4:
        raise ValueError("layers needs 4 stage depths, e.g. 3,4,6,3")
    width = int(opts.pop("width", 64))
    last_stride = int(opts.pop("last_stride", 1))
    maxpool = str(opts.pop("maxpool", maxpool))
    if opts:
        raise ValueError(f"unknown ResNet option(s): {sorted(opts)} (known: block, layers, width, last_stride, maxpool)")
    return BoTBaseline(ResNet(block, layers, width, last_stride, maxpool), neck_feat)


def prepare(sd: dict, neck_feat: str = "after") -> tuple[dict, list[str], dict]:
    """Maps a checkpoint's keys onto BoTBaseline's (backbone.*, bottleneck.*; the BNNeck is dropped for "before").
    Returns (mapped state dict, dropped keys, facts: format, maxpool, pixel_mean / pixel_std when stored)."""
    out, dropped, facts = _map(sd)
    if neck_feat == "before":
        dropped += [k for k in out if k.startswith("bottleneck.")]
        out = {k: v for k, v in out.items() if not k.startswith("bottleneck.")}
    return out, dropped, facts


def _map(sd: dict) -> tuple[dict, list[str], dict]:
    keys = list(sd)
    facts: dict = {}
    out, dropped = {}, []
    if any(k.startswith(("heads.", "backbone.")) for k in keys):
        facts.update(format="fast-reid", maxpool="fastreid")
        for k, v in sd.items():
            if k.startswith("backbone."):
                out[k] = v
            elif k.startswith("heads.bottleneck.0."):
                out["bottleneck." + k[len("heads.bottleneck.0."):]] = v
            elif k in ("pixel_mean", "pixel_std"):
                facts[k] = [float(x) for x in v.flatten()]
                dropped.append(k)
            elif k == "heads.weight" or k.startswith(("heads.classifier.", "heads.cls_layer.")):
                dropped.append(k)
            else:
                out[k] = v  # reported as unexpected unless it is part of the model
    elif any(k.startswith("base.") for k in keys):
        facts.update(format="reid-strong-baseline", maxpool="torchvision")
        for k, v in sd.items():
            if k.startswith("base."):
                out["backbone." + k[5:]] = v
            elif k.startswith("classifier."):
                dropped.append(k)
            else:
                out[k] = v
    else:
        facts.update(format="torchvision-style", maxpool="torchvision")
        for k, v in sd.items():
            if k.startswith(("classifier.", "fc.")):
                dropped.append(k)
            elif k.startswith(("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")):
                out["backbone." + k] = v
            else:
                out[k] = v  # bottleneck.*, or reported as unexpected
    return out, dropped, facts
