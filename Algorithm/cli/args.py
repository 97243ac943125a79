"""Argument types and options shared by the sub-commands, built on the rules in Algorithm.rules."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from Algorithm import rules


def box(text: str) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("a box is x1,y1,x2,y2 in pixels") from None
    # nan compares False with everything, so the order test alone would let it through (and inf is no pixel)
    if len(vals) != 4 or not all(map(math.isfinite, vals)) or vals[2] <= vals[0] or vals[3] <= vals[1]:
        raise argparse.ArgumentTypeError(f"a box is x1,y1,x2,y2 in pixels (finite numbers) with x2 > x1 and y2 > y1, "
                                         f"not {text!r}")
    return tuple(vals)


def categories(text: str) -> tuple[str, ...]:
    """A comma list of rules.CATEGORIES (what Settings.validate accepts): a bad one is a usage error, not a crash."""
    cats = tuple(c.strip() for c in text.split(",") if c.strip())
    if not cats or any(c not in rules.CATEGORIES for c in cats):
        raise argparse.ArgumentTypeError(f"categories are a comma list of {', '.join(rules.CATEGORIES)}, not {text!r}")
    return cats


def threshold(text: str) -> float:
    """A match threshold within rules.THRESHOLD_RANGE (the same range the GUI's spin boxes allow)."""
    try:
        return rules.THRESHOLD_RANGE.check(float(text), "the threshold (a distance, 1 - cosine)")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def sample_ft(text: str) -> int:
    try:
        return int(rules.SAMPLE_FT_RANGE.check(int(text), "sampleFt"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_int(text: str) -> int:
    """A count of at least 1 (--max-frames: 0 or less would process nothing, and index a file as empty)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number is needed, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def model_name(text: str) -> str:
    try:
        return rules.check_model_name(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_gallery(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gallery", type=Path, help="gallery file (default: the app's gallery in your data folder)")


def add_speed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--speed", choices=tuple(rules.SPEEDS), default=rules.DEFAULT_SPEED,
                   help="how often the detector runs: " + "; ".join(f"{m.name}: {m.trades}" for m in rules.SPEEDS.values()))


def add_hw_decode(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hw-decode", action="store_true",
                   help="decode videos on the GPU where OpenCV offers it (falls back to software; the results record "
                   "which decoder was used)")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=rules.DEVICES, default="auto")


def distinct_outputs(*dests: Path | None) -> None:
    """Two outputs of one command named alike: the second would silently replace the first."""
    from Algorithm.errors import InputError

    seen = {}
    for d in (d for d in dests if d):
        real = Path(d).resolve()
        if real in seen:
            raise InputError(f"{seen[real]} and {d} are the same file: give each output its own name")
        seen[real] = d
