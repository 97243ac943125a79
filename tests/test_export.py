"""`python -m Algorithm export`: real-world checkpoint layouts -> ONNX -> the app's ReIdExtract.

Every network is small and random, built here; each checkpoint is saved in its family's real-world layout
(torchreid, reid-strong-baseline, fast-reid, CLIP-ReID) with its training-only parts, exported through the CLI
entry point (the main CLI once `export` is wired into it, else Algorithm.cli.export_cmds), and checked:
ONNX == PyTorch at batch 1 and 3, and ReIdExtract built from the written config entry == the L2-normalised
PyTorch feature of a crop preprocessed as documented here (independently of the entry), which proves the
entry's channel order, scale, mean, std and input size.
The BoT and CLIP-ReID references are independent of Algorithm/models/archs (torchvision's ResNet; a functional
CLIP-ReID forward), so they also check the architectures themselves.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from Algorithm.models.registry import ModelSpec, load_registry  # noqa: E402

from testdata import ASSETS  # noqa: E402

# 2 shared cores: one torch thread avoids oversubscription (10x slower forwards otherwise).
torch.set_num_threads(1)

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


# ------------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------------
def _export_wired() -> bool:
    from Algorithm.cli import main as cli

    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return "export" in sub.choices


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """`python -m Algorithm export ...` in-process: through the main CLI when it knows `export`, else the module's."""
    capsys.readouterr()
    if _export_wired():
        from Algorithm.cli import main as cli

        rc = cli.main(["export", *map(str, argv)])
    else:
        from Algorithm.cli import export_cmds as cli_export

        rc = cli_export.main(["export", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """BatchNorm / LayerNorm with non-trivial statistics and affine terms, so eval-mode mistakes show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 0.4 - 0.2)
    return model.eval()


def documented_preprocess(bgr_crop: np.ndarray, size: tuple[int, int], mean, std) -> torch.Tensor:
    """What the docs promise for the family: resize to HxW, BGR -> RGB, /255, (x - mean) / std, NCHW."""
    h, w = size
    x = cv2.resize(bgr_crop, (w, h), interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def l2n(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def check_exported(onnx_path: Path, local: Path, name: str, reference, *, size, mean, std, category, threshold, dim):
    """The file, its config entry and the app's extractor against `reference` (a torch function NCHW -> (N, D))."""
    data = json.loads(local.read_text())
    entry = data["models"][name]
    assert data["active"]["reid"][category] == name
    assert entry["kind"] == "reid" and entry["categories"] == [category]
    assert entry["input_size"] == list(size) and entry["channel_order"] == "RGB"
    assert entry["scale"] == pytest.approx(1 / 255) and not entry["normalized_in_graph"]
    assert entry["mean"] == pytest.approx(list(mean), abs=1e-5) and entry["std"] == pytest.approx(list(std), abs=1e-5)
    assert entry["threshold"] == pytest.approx(threshold) and entry["output_dim"] == dim
    assert Path(entry["file"]) == onnx_path.resolve()

    # the app's registry reads it back, sha256-checked, as the category's model
    reg = load_registry(local=local)
    assert reg.reid_for(category).name == name and reg.path_of(name) == onnx_path.resolve()

    # ONNX == PyTorch, dynamic batch (1 and 3)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert isinstance(sess.get_inputs()[0].shape[0], str), "batch axis must be dynamic"
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(3, 3, *size)).astype(np.float32))
    with torch.no_grad():
        ref = reference(x).numpy()
    assert ref.shape == (3, dim)
    for batch in (x[:1], x):
        got = sess.run(None, {sess.get_inputs()[0].name: batch.numpy()})[0]
        assert got.shape == (len(batch), dim)
        np.testing.assert_allclose(got, ref[: len(batch)], atol=2e-4 * max(1.0, float(np.abs(ref).max())), rtol=0)

    # the app: ReIdExtract from the entry == L2-normalised PyTorch feature of the documented preprocessing
    from Algorithm.pipeline.embed import ReIdExtract

    ext = ReIdExtract(ModelSpec.from_dict(name, entry), onnx_path)
    crops = [rng.integers(0, 256, size=(300, 140, 3), dtype=np.uint8), rng.integers(0, 256, size=(90, 170, 3), dtype=np.uint8)]
    got = ext(crops)
    with torch.no_grad():
        want = l2n(reference(torch.cat([documented_preprocess(c, size, mean, std) for c in crops])).numpy())
    assert got.shape == (2, dim)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


# ------------------------------------------------------------------------------------------------------------------
# OSNet, torchreid layout
# ------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def osnet_ckpt(tmp_path_factory):
    """A random OSNet x0.25 (the real size) saved as torchreid's save_checkpoint does (DataParallel prefixes)."""
    from Algorithm.models.archs import osnet

    torch.manual_seed(0)
    model = randomize_norms(osnet.build("osnet_x0_25", {}))
    sd = {"module." + k: v for k, v in model.state_dict().items()}
    sd["module.classifier.weight"] = torch.randn(751, 512)
    sd["module.classifier.bias"] = torch.zeros(751)
    path = tmp_path_factory.mktemp("osnet") / "osnet_x0_25_market.pth.tar"
    torch.save({"state_dict": sd, "epoch": 60, "rank1": 0.9, "optimizer": {"state": {}, "param_groups": [{"lr": 3e-4}]}}, path)
    return path, model


def test_osnet_torchreid_checkpoint(osnet_ckpt, tmp_path, capsys):
    ckpt, model = osnet_ckpt
    out, local = tmp_path / "osnet.onnx", tmp_path / "local_models.json"
    rc, stdout, err = run_cli([ckpt, "--arch", "osnet_x0_25", "--out", out, "--local-config", local], capsys)
    assert rc == 0, err
    assert "max abs difference" in stdout and "torchreid" in stdout and "classifier.* (2)" in stdout
    check_exported(out, local, "osnet_x0_25_market", model, size=(256, 128), mean=IMAGENET[0], std=IMAGENET[1],
                   category="person", threshold=0.25, dim=512)

    # The default osnet_x0_25 is a real torchreid OSNet x0.25: its ONNX holds the same weight tensors, shape for
    # shape, as the shipped export of the MSMT17 checkpoint (BoxMOT's export of torchreid's model).
    import onnx

    def shapes(p):
        return Counter(tuple(t.dims) for t in onnx.load(str(p)).graph.initializer if len(t.dims) and np.prod(t.dims) > 1)

    shipped = ASSETS / "models" / "reid_person" / "osnet_x0_25_msmt17.onnx"
    assert shipped.is_file() and shapes(out) == shapes(shipped)


# ------------------------------------------------------------------------------------------------------------------
# BoT ResNet, reid-strong-baseline and fast-reid layouts (reference: torchvision's ResNet)
# ------------------------------------------------------------------------------------------------------------------
class TorchvisionBoT(nn.Module):
    """torchvision ResNet (BasicBlock, one block per stage: small) with last stride 1, GAP, BNNeck."""

    def __init__(self, fastreid_pool: bool):
        super().__init__()
        import torchvision

        self.base = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1])
        self.base.layer4[0].conv1.stride = (1, 1)
        self.base.layer4[0].downsample[0].stride = (1, 1)
        if fastreid_pool:
            self.base.maxpool = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.base.fc = nn.Identity()
        self.bottleneck = nn.BatchNorm1d(512)

    def forward(self, x):
        b = self.base
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.layer4(b.layer3(b.layer2(b.layer1(x))))
        return self.bottleneck(x.mean((2, 3)))


@pytest.mark.parametrize("layout", ["reid-strong-baseline", "fast-reid"])
def test_bot_checkpoint(layout, tmp_path, capsys):
    torch.manual_seed(1)
    ref = randomize_norms(TorchvisionBoT(fastreid_pool=layout == "fast-reid"), seed=1)
    base = {k: v for k, v in ref.base.state_dict().items()}
    neck = ref.bottleneck.state_dict()
    if layout == "reid-strong-baseline":
        sd = {**{"base." + k: v for k, v in base.items()}, **{"bottleneck." + k: v for k, v in neck.items()},
              "classifier.weight": torch.randn(751, 512)}
        ckpt_obj = sd  # torch.save(model.state_dict())
        mean, std = IMAGENET
    else:
        sd = {**{"backbone." + k: v for k, v in base.items()}, **{"heads.bottleneck.0." + k: v for k, v in neck.items()},
              "heads.weight": torch.randn(751, 512),
              "pixel_mean": torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1),
              "pixel_std": torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)}
        ckpt_obj = {"model": sd, "optimizer": {"state": {}, "param_groups": []}, "scheduler": {"last_epoch": 59},
                    "iteration": 12345}  # fvcore Checkpointer
        mean, std = IMAGENET
    ckpt = tmp_path / "model_final.pth"
    torch.save(ckpt_obj, ckpt)
    out, local = tmp_path / "bot.onnx", tmp_path / "local_models.json"
    rc, stdout, err = run_cli([ckpt, "--arch", "resnet50_bot", "--out", out, "--local-config", local, "--name", "bot",
                               "--input", "128x64", "--category", "vehicle", "--threshold", "0.3",
                               "--arch-opt", "block=basic", "--arch-opt", "layers=1,1,1,1"], capsys)
    assert rc == 0, err
    assert layout in stdout
    check_exported(out, local, "bot", ref, size=(128, 64), mean=mean, std=std, category="vehicle", threshold=0.3, dim=512)


def test_bot_default_is_resnet50_layout():
    """resnet50_bot's backbone has torchvision resnet50's keys and shapes (what BoT checkpoints hold)."""
    import torchvision

    from Algorithm.models.archs import resnet_bot

    tv = {k: tuple(v.shape) for k, v in torchvision.models.resnet50().state_dict().items() if not k.startswith("fc.")}
    ours = resnet_bot.build("resnet50_bot", {}).state_dict()
    assert {k[len("backbone."):]: tuple(v.shape) for k, v in ours.items() if k.startswith("backbone.")} == tv
    assert tuple(ours["bottleneck.weight"].shape) == (2048,)


# ------------------------------------------------------------------------------------------------------------------
# CLIP-ReID ViT (reference: a functional CLIP-ReID forward from the state dict)
# ------------------------------------------------------------------------------------------------------------------
W, LAYERS, HEADS, PROJ = 64, 2, 2, 32


def clip_reid_state(grid: tuple[int, int], seed: int, sie_rows: int = 0) -> dict:
    """A CLIP-ReID `build_transformer.state_dict()`, tiny: image_encoder.*, BNNecks, classifiers, prompt learner,
    text encoder bits, optional SIE table."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, s=0.1):
        return torch.randn(*shape, generator=g) * s

    sd = {"image_encoder.conv1.weight": r(W, 3, 16, 16, s=0.02), "image_encoder.class_embedding": r(W),
          "image_encoder.positional_embedding": r(grid[0] * grid[1] + 1, W),
          "image_encoder.ln_pre.weight": 1 + r(W), "image_encoder.ln_pre.bias": r(W),
          "image_encoder.ln_post.weight": 1 + r(W), "image_encoder.ln_post.bias": r(W), "image_encoder.proj": r(W, PROJ)}
    for i in range(LAYERS):
        p = f"image_encoder.transformer.resblocks.{i}."
        sd.update({p + "attn.in_proj_weight": r(3 * W, W), p + "attn.in_proj_bias": r(3 * W),
                   p + "attn.out_proj.weight": r(W, W), p + "attn.out_proj.bias": r(W),
                   p + "ln_1.weight": 1 + r(W), p + "ln_1.bias": r(W), p + "ln_2.weight": 1 + r(W), p + "ln_2.bias": r(W),
                   p + "mlp.c_fc.weight": r(4 * W, W), p + "mlp.c_fc.bias": r(4 * W),
                   p + "mlp.c_proj.weight": r(W, 4 * W), p + "mlp.c_proj.bias": r(W)})
    for name, d in (("bottleneck", W), ("bottleneck_proj", PROJ)):
        sd.update({f"{name}.weight": 1 + r(d), f"{name}.bias": torch.zeros(d), f"{name}.running_mean": r(d),
                   f"{name}.running_var": 1 + r(d).abs(), f"{name}.num_batches_tracked": torch.tensor(100)})
    sd.update({"classifier.weight": r(576, W), "classifier_proj.weight": r(576, PROJ),
               "prompt_learner.cls_ctx": r(576, 4, 512), "prompt_learner.token_prefix": r(1, 5, 512),
               "text_encoder.positional_embedding": r(77, 512), "text_encoder.ln_final.weight": torch.ones(512),
               "text_encoder.text_projection": r(512, 512)})
    if sie_rows:
        sd["cv_embed"] = r(sie_rows, W)
    return sd


def clip_reid_reference(sd: dict, grid: tuple[int, int], cv_emb: torch.Tensor | None = None,
                        pos_grid: tuple[int, int] | None = None):
    """CLIP-ReID's ViT-B-16 eval forward with TEST.NECK_FEAT 'before', written from its source with plain ops."""
    e = {k[len("image_encoder."):]: v for k, v in sd.items() if k.startswith("image_encoder.")}
    pos = e["positional_embedding"]
    if pos_grid and tuple(pos_grid) != tuple(grid):  # CLIP-ReID resize_pos_embed: bilinear on the grid
        g0 = pos[1:].reshape(1, *pos_grid, W).permute(0, 3, 1, 2)
        pos = torch.cat([pos[:1], F.interpolate(g0, size=grid, mode="bilinear").permute(0, 2, 3, 1).reshape(-1, W)])

    def ln(x, p):
        return F.layer_norm(x, (W,), e[p + ".weight"], e[p + ".bias"], 1e-5)

    def forward(img):
        x = F.conv2d(img, e["conv1.weight"], stride=16).flatten(2).transpose(1, 2)
        cls = e["class_embedding"].expand(x.shape[0], 1, W)
        x = torch.cat([cls, x], 1)
        if cv_emb is not None:
            x[:, 0] = x[:, 0] + cv_emb
        x = ln(x + pos, "ln_pre")
        n, t, _ = x.shape
        for i in range(LAYERS):
            p = f"transformer.resblocks.{i}."
            h = ln(x, p + "ln_1")
            q, k, v = (h @ e[p + "attn.in_proj_weight"].T + e[p + "attn.in_proj_bias"]).chunk(3, dim=-1)
            q, k, v = (z.reshape(n, t, HEADS, W // HEADS).transpose(1, 2) for z in (q, k, v))
            a = torch.softmax(q @ k.transpose(-1, -2) / (W // HEADS) ** 0.5, -1) @ v
            x = x + a.transpose(1, 2).reshape(n, t, W) @ e[p + "attn.out_proj.weight"].T + e[p + "attn.out_proj.bias"]
            h = ln(x, p + "ln_2") @ e[p + "mlp.c_fc.weight"].T + e[p + "mlp.c_fc.bias"]
            x = x + (h * torch.sigmoid(1.702 * h)) @ e[p + "mlp.c_proj.weight"].T + e[p + "mlp.c_proj.bias"]
        f = ln(x, "ln_post")[:, 0]
        return torch.cat([f, f @ e["proj"]], dim=1)

    return forward


VIT_OPTS = ["--arch-opt", f"width={W}", "--arch-opt", f"layers={LAYERS}", "--arch-opt", f"heads={HEADS}",
            "--arch-opt", f"output_dim={PROJ}"]


def test_clip_reid_person(tmp_path, capsys):
    sd = clip_reid_state((16, 8), seed=2)
    ckpt = tmp_path / "ViT-B-16_market_60.pth"
    torch.save({"module." + k: v for k, v in sd.items()}, ckpt)  # CLIP-ReID saves model.state_dict() (DDP: module.)
    out, local = tmp_path / "clip_person.onnx", tmp_path / "local_models.json"
    rc, stdout, err = run_cli([ckpt, "--arch", "clip_reid_vitb16", "--out", out, "--local-config", local,
                               "--name", "clip_person", *VIT_OPTS], capsys)
    assert rc == 0, err
    assert "CLIP-ReID" in stdout and "prompt_learner" in stdout
    check_exported(out, local, "clip_person", clip_reid_reference(sd, (16, 8)), size=(256, 128), mean=CLIP[0],
                   std=CLIP[1], category="person", threshold=0.1, dim=W + PROJ)


def test_clip_reid_vehicle_sie_and_resize(tmp_path, capsys):
    sd = clip_reid_state((16, 16), seed=3, sie_rows=20)  # VeRi-776: 256x256, 20 cameras
    ckpt = tmp_path / "ViT-B-16_veri.pth"
    torch.save(sd, ckpt)
    out, local = tmp_path / "clip_vehicle.onnx", tmp_path / "local_models.json"
    rc, stdout, err = run_cli([ckpt, "--arch", "clip_reid_vitb16", "--category", "vehicle", "--out", out,
                               "--local-config", local, "--name", "clip_vehicle", *VIT_OPTS], capsys)
    assert rc == 0, err
    assert "SIE" in stdout and "dropped" in stdout
    check_exported(out, local, "clip_vehicle", clip_reid_reference(sd, (16, 16)), size=(256, 256), mean=CLIP[0],
                   std=CLIP[1], category="vehicle", threshold=0.2, dim=W + PROJ)

    # another input size (positional grid resized as CLIP-ReID does) with SIE camera 1 folded in
    out2 = tmp_path / "clip_vehicle_128.onnx"
    rc, stdout, err = run_cli([ckpt, "--arch", "clip_reid_vitb16", "--category", "vehicle", "--out", out2,
                               "--input", "128x128", "--sie-camera", "1", "--no-register", *VIT_OPTS], capsys)
    assert rc == 0, err
    assert "resized from a 16x16 to a 8x8" in stdout
    ref = clip_reid_reference(sd, (8, 8), cv_emb=3.0 * sd["cv_embed"][1], pos_grid=(16, 16))
    x = torch.from_numpy(np.random.default_rng(4).normal(size=(3, 3, 128, 128)).astype(np.float32))
    sess = ort.InferenceSession(str(out2), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        np.testing.assert_allclose(sess.run(None, {"images": x.numpy()})[0], ref(x).numpy(), atol=2e-4, rtol=0)


# ------------------------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------------------------
def test_wrong_architecture_is_a_clear_error(osnet_ckpt, tmp_path, capsys):
    ckpt, _ = osnet_ckpt
    out, local = tmp_path / "x.onnx", tmp_path / "local_models.json"
    rc, stdout, err = run_cli([ckpt, "--arch", "resnet50_bot", "--out", out, "--local-config", local], capsys)
    assert rc == 2
    assert "does not fit the architecture 'resnet50_bot'" in err
    assert "missing keys" in err and "backbone.conv1.weight" in err and "unexpected keys" in err and "conv2.0.conv1" in err
    assert "try --arch osnet_x0_25" in err and "Traceback" not in err + stdout
    assert not out.exists() and not local.exists()

    rc, stdout, err = run_cli([ckpt, "--arch", "osnet_x1_0", "--out", out, "--local-config", local], capsys)
    assert rc == 2 and "shape mismatches" in err and "conv1.conv.weight (16, 3, 7, 7) vs (64, 3, 7, 7)" in err
    assert not out.exists() and not local.exists()


def test_pickled_objects_need_trust(osnet_ckpt, tmp_path, capsys):
    ckpt, model = osnet_ckpt
    risky = tmp_path / "with_config.pth"
    torch.save({"state_dict": model.state_dict(), "cfg": argparse.Namespace(lr=0.1)}, risky)
    out = tmp_path / "o.onnx"
    rc, _, err = run_cli([risky, "--arch", "osnet_x0_25", "--out", out, "--no-register"], capsys)
    assert rc == 2 and "--trust-checkpoint" in err and not out.exists()
    rc, stdout, err = run_cli([risky, "--arch", "osnet_x0_25", "--out", out, "--no-register", "--trust-checkpoint"], capsys)
    assert rc == 0, err
    assert out.is_file() and '"with_config"' in stdout  # the entry is printed even when not registered


def test_onnx_mismatch_writes_nothing(tmp_path, capsys, monkeypatch):
    """When ONNX Runtime disagrees with PyTorch the export fails and leaves neither the file nor a config entry."""
    from Algorithm.models import onnx_export as export

    ckpt = tmp_path / "small.pth"
    torch.save(clip_reid_state((4, 4), seed=5), ckpt)
    monkeypatch.setattr(export, "compare", lambda *a, **k: (0.5, 0.1, W + PROJ))
    out, local = tmp_path / "small.onnx", tmp_path / "local_models.json"
    rc, _, err = run_cli([ckpt, "--arch", "clip_reid_vitb16", "--out", out, "--local-config", local, *VIT_OPTS], capsys)
    assert rc == 2 and "does not match PyTorch" in err and "Traceback" not in err
    assert not out.exists() and not out.with_name(out.name + ".part").exists() and not local.exists()
