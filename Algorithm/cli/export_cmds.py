"""Command line of the model export ("bring your own ReID model"):

    python -m Algorithm export CHECKPOINT --arch {osnet_x0_25,osnet_x0_5,osnet_x0_75,osnet_x1_0,resnet50_bot,clip_reid_vitb16}
        [--out model.onnx] [--input 256x128] [--name NAME] [--category person|vehicle] [--threshold T]
        [--neck-feat before|after] [--arch-opt KEY=VALUE ...] [--sie-camera K [--sie-coe 3.0]]
        [--no-register] [--no-activate] [--trust-checkpoint]

Also runs on its own, before or without the main CLI: python -m Algorithm.cli.export_cmds CHECKPOINT --arch ...
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from Algorithm.cli import args as A
from Algorithm.models.archs import ARCHS
from Algorithm.rules import CATEGORIES

COMMANDS: set[str] = {"export"}


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace(" ", "").split("x")
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError("the input size is HEIGHTxWIDTH in pixels, e.g. 256x128") from None
    if h < 16 or w < 16:
        raise argparse.ArgumentTypeError("the input size is at least 16x16")
    return h, w


def _value(text: str):
    if "," in text:
        return [_value(t) for t in text.split(",") if t]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _opt(text: str) -> tuple[str, object]:
    key, sep, val = text.partition("=")
    if not sep or not key.strip() or not val.strip():
        raise argparse.ArgumentTypeError("an architecture option is KEY=VALUE, e.g. layers=3,4,6,3")
    return key.strip(), _value(val.strip())


def add_parsers(sub) -> None:
    """Adds the `export` sub-command to the main parser."""
    e = sub.add_parser(
        "export",
        help="turn a PyTorch ReID checkpoint (torchreid OSNet, BoT ResNet-50, CLIP-ReID ViT-B/16) into an ONNX model "
             "the app uses",
        description="Exports the test-time network of a ReID checkpoint to ONNX (no classifier, eval mode, dynamic batch), "
                    "checks ONNX Runtime against PyTorch, and registers the model in models/local_models.json.",
    )
    e.add_argument("checkpoint", type=Path, help="PyTorch checkpoint (.pth / .pt / .tar)")
    e.add_argument("--arch", required=True, choices=list(ARCHS), help="architecture of the checkpoint")
    e.add_argument("--out", type=Path, help="ONNX file to write (default: models/reid_CATEGORY/NAME.onnx)")
    e.add_argument("--input", dest="input_size", type=_size, metavar="HxW",
                   help="input size HEIGHTxWIDTH (default: 256x128; CLIP-ReID: the checkpoint's own, 256x256 for vehicles)")
    e.add_argument("--name", help="model name in the config (default: the checkpoint's file name)")
    e.add_argument("--category", choices=CATEGORIES, default="person", help="what the model re-identifies (default person)")
    e.add_argument("--threshold", type=A.threshold,
                   help="match distance 1 - cosine (default: CLIP-ReID 0.1 person / 0.2 vehicle, CNNs 0.25)")
    e.add_argument("--neck-feat", choices=("before", "after"),
                   help="BoT / CLIP-ReID test feature: before or after the BNNeck (default: BoT after, CLIP-ReID before)")
    e.add_argument("--arch-opt", dest="arch_opts", type=_opt, action="append", default=[], metavar="KEY=VALUE",
                   help="architecture hyper-parameter for non-standard checkpoints, repeatable: OSNet channels=, layers=, "
                        "feature_dim=; ResNet block=basic|bottleneck, layers=, width=, last_stride=, "
                        "maxpool=torchvision|fastreid; "
                        "ViT width=, layers=, heads=, patch=, stride=, output_dim=")
    e.add_argument("--sie-camera", type=int, metavar="K",
                   help="CLIP-ReID with SIE: fold camera embedding row K into the model (default: drop SIE)")
    e.add_argument("--sie-coe", type=float, default=3.0, help="SIE coefficient for --sie-camera (CLIP-ReID default 3.0)")
    e.add_argument("--no-register", action="store_true", help="only write the ONNX file and print the config entry")
    e.add_argument("--no-activate", action="store_true", help="register the model without making it the category's model")
    e.add_argument("--trust-checkpoint", action="store_true",
                   help="allow unpickling Python objects in the checkpoint (only for files from a trusted source)")
    e.add_argument("--opset", type=int, default=17, help=argparse.SUPPRESS)
    e.add_argument("--local-config", type=Path, help=argparse.SUPPRESS)  # where the entry goes (tests)


def run(args) -> int:
    from Algorithm.models.onnx_export import export_checkpoint

    export_checkpoint(
        args.checkpoint, args.arch, args.out, input_size=args.input_size, name=args.name, category=args.category,
        threshold=args.threshold, neck_feat=args.neck_feat, arch_opts=dict(args.arch_opts or []),
        sie_camera=args.sie_camera, sie_coe=args.sie_coe, register_model=not args.no_register,
        activate=not args.no_activate, local_config=args.local_config, trust_checkpoint=args.trust_checkpoint,
        opset=args.opset,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (python -m Algorithm.cli.export_cmds ...), errors as messages like the main CLI."""
    ap = argparse.ArgumentParser(prog="python -m Algorithm")
    add_parsers(ap.add_subparsers(dest="cmd", required=True))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "export":
        argv.insert(0, "export")
    args = ap.parse_args(argv)
    from Algorithm.errors import ReIdError

    try:
        return run(args)
    except ReIdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
