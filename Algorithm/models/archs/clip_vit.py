"""CLIP ViT-B/16 image encoder as used by CLIP-ReID (Li et al., AAAI 2023; github.com/Syliz517/CLIP-ReID).

Layout: OpenAI CLIP's `VisionTransformer` (conv1 patch embedding without bias, class_embedding,
positional_embedding over (grid_h * grid_w + 1) tokens, ln_pre, transformer.resblocks.N.{attn (nn.MultiheadAttention:
in_proj_weight/in_proj_bias/out_proj), ln_1, mlp.c_fc, QuickGELU, mlp.c_proj, ln_2}, ln_post, proj), width 768,
12 layers, 12 heads, patch 16 with stride 16, projection to 512. CLIP-ReID keeps it under `image_encoder.`.

Test-time feature. CLIP-ReID's `build_transformer.forward` in eval mode returns, for ViT-B-16,
    torch.cat([img_feature, img_feature_proj], dim=1)            when TEST.NECK_FEAT == 'before'
    torch.cat([bottleneck(img_feature), bottleneck_proj(img_feature_proj)], dim=1)   when 'after'
where img_feature = ln_post(last block)[:, 0] (the CLS token, 768-d) and img_feature_proj = that @ proj (512-d).
Every shipped ViT config (configs/person/vit_clipreid.yml, configs/veri/*, configs/VehicleID/*) sets
NECK_FEAT 'before', so the default here is 'before': a 1280-d feature (768 pre-projection, then 512 projected),
compared with cosine distance (TEST.FEAT_NORM 'yes').

SIE (`cv_embed`, camera/view embeddings): CLIP-ReID adds SIE_COE * cv_embed[camera] to the CLS token before the
positional embedding. The app does not know camera ids, so by default the table is dropped (CLIP-ReID's own
cam_label=None path); `sie_camera=K` folds row K (times sie_coe, CLIP-ReID's default 3.0) into class_embedding.

Input size: the positional embedding fixes the patch grid ((H - 16) // stride + 1, (W - 16) // stride + 1).
A checkpoint trained at another size has its grid resized bilinearly, as CLIP-ReID's resize_pos_embed does.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(width * 4, width))]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x):  # x: (L, N, D), sequence first as in CLIP
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    """Returns (ln_post(CLS), ln_post(CLS) @ proj)."""

    def __init__(self, grid: tuple[int, int], patch: int = 16, stride: int = 16, width: int = 768, layers: int = 12,
                 heads: int = 12, output_dim: int = 512):
        super().__init__()
        self.grid = (int(grid[0]), int(grid[1]))
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=stride, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(self.grid[0] * self.grid[1] + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x: torch.Tensor):
        x = self.conv1(x).flatten(2).transpose(1, 2)  # (N, grid_h * grid_w, D)
        cls = self.class_embedding.to(x.dtype).reshape(1, 1, -1).expand(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        cls_out = self.ln_post(x[0])  # CLS token, (N, D)
        return cls_out, cls_out @ self.proj


class CLIPReID(nn.Module):
    """CLIP-ReID image branch at test time: (N, 3, H, W) -> (N, width + output_dim)."""

    def __init__(self, encoder: VisionTransformer, neck_feat: str = "before"):
        super().__init__()
        if neck_feat not in ("before", "after"):
            raise ValueError("neck_feat is before or after")
        self.image_encoder = encoder
        self.neck_feat = neck_feat
        width, out_dim = encoder.proj.shape
        self.feature_dim = int(width + out_dim)
        if neck_feat == "after":
            self.bottleneck = nn.BatchNorm1d(width)
            self.bottleneck_proj = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, fp = self.image_encoder(x)
        if self.neck_feat == "after":
            f, fp = self.bottleneck(f), self.bottleneck_proj(fp)
        return torch.cat([f, fp], dim=1)


def grid_for(input_size: tuple[int, int], patch: int = 16, stride: int = 16) -> tuple[int, int]:
    h, w = input_size
    if h < patch or w < patch:
        raise ValueError(f"input {h}x{w} is smaller than one {patch}-pixel patch")
    return (h - patch) // stride + 1, (w - patch) // stride + 1


def build(arch: str, opts: dict, input_size: tuple[int, int], neck_feat: str = "before") -> CLIPReID:
    opts = dict(opts)
    width = int(opts.pop("width", 768))
    layers = int(opts.pop("layers", 12))
    heads = int(opts.pop("heads", max(1, width // 64)))  # CLIP: one head per 64 channels
    patch = int(opts.pop("patch", 16))
    stride = int(opts.pop("stride", 16))
    output_dim = int(opts.pop("output_dim", 512))
    if opts:
        raise ValueError(f"unknown ViT option(s): {sorted(opts)} (known: width, layers, heads, patch, stride, output_dim)")
    if width % heads:
        raise ValueError(f"width {width} is not a multiple of heads {heads}")
    enc = VisionTransformer(grid_for(input_size, patch, stride), patch, stride, width, layers, heads, output_dim)
    return CLIPReID(enc, neck_feat)


def guess_grid(n_tokens: int) -> tuple[int, int] | None:
    """Patch grid (rows, cols) of a positional table of n_tokens patches: square, or taller than wide by 2, 3 or
    1.5 (ReID crops are upright), as CLIP-ReID's sizes are (256x128 -> 16x8, 256x256 -> 16x16, 224 -> 14x14)."""
    for ratio in (1.0, 2.0, 3.0, 1.5):
        w = math.isqrt(int(round(n_tokens / ratio)))
        for cand in (w - 1, w, w + 1):
            if cand > 0 and n_tokens % cand == 0 and abs(n_tokens // cand / cand - ratio) < 1e-9:
                return n_tokens // cand, cand
    return None


def resize_pos_embed(pos: torch.Tensor, src: tuple[int, int], dst: tuple[int, int]) -> torch.Tensor:
    """(1 + src_h*src_w, D) -> (1 + dst_h*dst_w, D): the CLS row kept, the grid resized bilinearly."""
    cls, grid = pos[:1], pos[1:]
    d = grid.shape[-1]
    grid = grid.reshape(1, src[0], src[1], d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=dst, mode="bilinear", align_corners=False)
    return torch.cat([cls, grid.permute(0, 2, 3, 1).reshape(dst[0] * dst[1], d)], dim=0)


ENCODER_PREFIXES = ("image_encoder.", "visual.")
# Parts of a CLIP-ReID (or OpenAI CLIP) checkpoint that the image feature does not use.
_DROP_PREFIXES = ("classifier.", "classifier_proj.", "prompt_learner.", "text_encoder.", "transformer.", "token_embedding.",
                  "ln_final.")
_DROP_KEYS = ("positional_embedding", "text_projection", "logit_scale", "input_resolution", "context_length", "vocab_size")


def checkpoint_grid(sd: dict) -> tuple[tuple[int, int] | None, int]:
    """(guessed patch grid, number of patch tokens) of the checkpoint's positional embedding."""
    for p in ENCODER_PREFIXES:
        pos = sd.get(p + "positional_embedding")
        if pos is not None and pos.ndim == 2:
            n = int(pos.shape[0]) - 1
            return guess_grid(n), n
    return None, 0


def prepare(sd: dict, model: CLIPReID, sie_camera: int | None = None, sie_coe: float = 3.0,
            src_grid: tuple[int, int] | None = None) -> tuple[dict, list[str], dict]:
    """Maps CLIP-ReID (`image_encoder.*`) or OpenAI CLIP (`visual.*`) keys onto CLIPReID's, resizes the positional
    grid to the model's, drops or folds the SIE table. Returns (state dict, dropped keys, facts)."""
    facts: dict = {}
    fmt = "CLIP-ReID" if any(k.startswith("image_encoder.") for k in sd) else (
        "OpenAI CLIP" if any(k.startswith("visual.") for k in sd) else "unknown")
    facts["format"] = fmt
    out, dropped = {}, []
    want_neck = model.neck_feat == "after"
    cv_embed = None
    for k, v in sd.items():
        if k.startswith("visual."):
            out["image_encoder." + k[len("visual."):]] = v
        elif k.startswith("image_encoder."):
            out[k] = v
        elif k == "cv_embed":
            cv_embed = v
            dropped.append(k)
        elif k.startswith(("bottleneck.", "bottleneck_proj.")) and not want_neck:
            dropped.append(k)
        elif k.startswith(_DROP_PREFIXES) or k in _DROP_KEYS:
            dropped.append(k)
        else:
            out[k] = v
    pos_key = "image_encoder.positional_embedding"
    enc = model.image_encoder
    pos = out.get(pos_key)
    if pos is not None and pos.ndim == 2 and pos.shape[1] == enc.positional_embedding.shape[1] \
            and pos.shape[0] != enc.positional_embedding.shape[0]:
        n = int(pos.shape[0]) - 1
        src = tuple(src_grid) if src_grid else guess_grid(n)
        if src is None or src[0] * src[1] != n:
            raise ValueError(f"the checkpoint's positional embedding has {n} patch positions, which is no grid this tool "
                             f"can guess; give the input size it was trained at (--input HxW)")
        out[pos_key] = resize_pos_embed(pos.float(), src, enc.grid)
        facts["pos_embed_resized"] = (src, enc.grid)
    if cv_embed is not None:
        facts["sie_rows"] = int(cv_embed.shape[0])
        if sie_camera is not None:
            if not 0 <= sie_camera < cv_embed.shape[0]:
                raise ValueError(f"--sie-camera {sie_camera} is out of range: the checkpoint's cv_embed has {cv_embed.shape[0]} rows")
            ce = out.get("image_encoder.class_embedding")
            if ce is not None and ce.shape == cv_embed[sie_camera].shape:
                out["image_encoder.class_embedding"] = ce + float(sie_coe) * cv_embed[sie_camera]
                facts["sie_folded"] = (int(sie_camera), float(sie_coe))
    elif sie_camera is not None:
        raise ValueError("--sie-camera was given but the checkpoint has no cv_embed (SIE) table")
    return out, dropped, facts
