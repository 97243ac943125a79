"""OSNet (Zhou et al., ICCV 2019) laid out exactly as torchreid's `torchreid/models/osnet.py`, so torchreid
checkpoints load key for key. Only the test-time path is kept: the returned feature is the output of the
`fc` block (Linear -> BatchNorm1d -> ReLU, 512-d), what torchreid returns in eval mode; `classifier` is dropped.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# torchreid widths: channels of conv1 and of the three OSBlock stages.
WIDTHS = {
    "osnet_x1_0": (64, 256, 384, 512),
    "osnet_x0_75": (48, 192, 288, 384),
    "osnet_x0_5": (32, 128, 192, 256),
    "osnet_x0_25": (16, 64, 96, 128),
}


class ConvLayer(nn.Module):
    """conv (k x k, no bias) + BN + ReLU: the stem."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Conv1x1(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Conv1x1Linear(nn.Module):
    """1x1 conv + BN, no non-linearity."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class LightConv3x3(nn.Module):
    """Pointwise 1x1 (linear) then depthwise 3x3, BN, ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False, groups=cout)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv2(self.conv1(x))))


class ChannelGate(nn.Module):
    """Unified aggregation gate shared by the four streams (sigmoid gate, reduction 16)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=True)
        self.gate_activation = nn.Sigmoid()

    def forward(self, x):
        g = self.gate_activation(self.fc2(self.relu(self.fc1(self.global_avgpool(x)))))
        return x * g


class OSBlock(nn.Module):
    """Omni-scale residual block: four streams of 1..4 lite 3x3 convs, gated and summed."""

    def __init__(self, cin: int, cout: int, bottleneck_reduction: int = 4):
        super().__init__()
        mid = cout // bottleneck_reduction
        self.conv1 = Conv1x1(cin, mid)
        self.conv2a = LightConv3x3(mid, mid)
        self.conv2b = nn.Sequential(*[LightConv3x3(mid, mid) for _ in range(2)])
        self.conv2c = nn.Sequential(*[LightConv3x3(mid, mid) for _ in range(3)])
        self.conv2d = nn.Sequential(*[LightConv3x3(mid, mid) for _ in range(4)])
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, cout)
        self.downsample = Conv1x1Linear(cin, cout) if cin != cout else None

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.gate(self.conv2a(x1)) + self.gate(self.conv2b(x1)) + self.gate(self.conv2c(x1)) + self.gate(self.conv2d(x1))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv3(x2) + identity)


class OSNet(nn.Module):
    """OSNet feature extractor: (N, 3, H, W) normalised RGB -> (N, feature_dim)."""

    def __init__(self, channels=WIDTHS["osnet_x1_0"], layers=(2, 2, 2), feature_dim: int = 512):
        super().__init__()
        channels, layers = tuple(int(c) for c in channels), tuple(int(n) for n in layers)
        if len(channels) != 4 or len(layers) != 3:
            raise ValueError("OSNet needs 4 channel widths and 3 stage depths")
        self.conv1 = ConvLayer(3, channels[0], 7, stride=2, padding=3)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = self._stage(layers[0], channels[0], channels[1], reduce=True)
        self.conv3 = self._stage(layers[1], channels[1], channels[2], reduce=True)
        self.conv4 = self._stage(layers[2], channels[2], channels[3], reduce=False)
        self.conv5 = Conv1x1(channels[3], channels[3])
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        if feature_dim and feature_dim > 0:
            self.fc = nn.Sequential(nn.Linear(channels[3], feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True))
            self.feature_dim = int(feature_dim)
        else:  # torchreid's fc_dims=None: the pooled map is the feature
            self.fc = None
            self.feature_dim = channels[3]

    @staticmethod
    def _stage(n: int, cin: int, cout: int, reduce: bool) -> nn.Sequential:
        blocks = [OSBlock(cin, cout)] + [OSBlock(cout, cout) for _ in range(1, n)]
        if reduce:
            blocks.append(nn.Sequential(Conv1x1(cout, cout), nn.AvgPool2d(2, stride=2)))
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.conv4(self.conv3(self.conv2(x))))
        v = self.global_avgpool(x).flatten(1)
        return self.fc(v) if self.fc is not None else v


def build(arch: str, opts: dict) -> OSNet:
    opts = dict(opts)
    channels = opts.pop("channels", WIDTHS[arch])
    layers = opts.pop("layers", (2, 2, 2))
    feature_dim = opts.pop("feature_dim", 512)
    if opts:
        raise ValueError(f"unknown OSNet option(s): {sorted(opts)} (known: channels, layers, feature_dim)")
    return OSNet(channels, layers, int(feature_dim))


def prepare(sd: dict) -> tuple[dict, list[str], dict]:
    """torchreid keys are the model's own; only the identity classifier is dropped.
    Returns (state dict for the model, dropped keys, facts about the checkpoint)."""
    kept = {k: v for k, v in sd.items() if not k.startswith("classifier.")}
    dropped = [k for k in sd if k.startswith("classifier.")]
    return kept, dropped, {"format": "torchreid"}
