"""The `report.html` of an evidence folder: one self-contained page (no scripts, nothing fetched) that says what
was found where, by which models and settings, with links to the folder's clips, frames and photos."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from Algorithm.types import SearchReport, Segment


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    size: int
    kind: str
    width: int
    height: int
    fps: float
    frame_count: int
    time_caution: str = ""  # FileResult.time_caution: the times below are approximate (a variable frame rate)


@dataclass(frozen=True)
class CaseIdentity:
    identity_id: int
    label: str
    category: str
    threshold: float | None
    photos: tuple[str, ...]  # relative paths of the registration photos in the folder


@dataclass(frozen=True)
class CaseSegment:
    n: int
    identity_id: int
    label: str
    path: str
    segment: Segment
    clip: str  # relative path; "" for a photo
    frame: str  # relative path of the best frame
    clip_frames: tuple[int, int] = (0, 0)  # first and last frame of the clip (the segment with its padding)


@dataclass(frozen=True)
class CaseSummary:
    created: str
    app_version: str
    report: SearchReport
    identities: list[CaseIdentity]
    segments: list[CaseSegment]
    sources: list[SourceFile]
    blurred: bool


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f3f3f3}code{font-size:90%;word-break:break-all}img.photo{height:160px;margin:4px}
img.frame,video{max-width:480px}.note{color:#555}"""


def _num(v: float, digits: int = 4) -> str:
    return f"{max(0.0, float(v)):.{digits}f}"


def _row(cells, head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _identities(c: CaseSummary) -> str:
    out = ["<h2>Identities</h2>"]
    for i in c.identities:
        thr = _num(i.threshold) if i.threshold is not None else "not recorded"
        out.append(f"<h3>{escape(i.label)} <span class='note'>(gallery id {i.identity_id}, {escape(i.category)}, "
                   f"match threshold {thr})</span></h3>")
        if i.photos:
            out.append("<p>" + "".join(f"<a href='{escape(p)}'><img class='photo' src='{escape(p)}' alt='registration photo'>"
                                        "</a>" for p in i.photos) + "</p>")
            out.append("<p class='note'>Registration photos as stored in the gallery when this folder was made.</p>")
        else:
            out.append("<p class='note'>No registration photo: the identity is not (or no longer) in the gallery.</p>")
    return "\n".join(out)


def _segments(c: CaseSummary) -> str:
    out = ["<h2>Sightings</h2>", "<table>", _row(["#", "identity", "file", "from - to", "best frame", "closest distance",
                                                    "matched frames", "clip / best frame"], head=True)]
    for s in c.segments:
        g = s.segment
        span = (f"{g.start_time:.2f} s - {g.end_time:.2f} s<br>frames {g.start_frame} - {g.end_frame}"
                if s.clip else "photo")
        media = ""
        if s.clip:
            media += (f"<video controls preload='metadata' src='{escape(s.clip)}'></video><br><a href='{escape(s.clip)}'>"
                      f"{escape(s.clip)}</a> (frames {s.clip_frames[0]} - {s.clip_frames[1]})<br>")
        media += f"<a href='{escape(s.frame)}'><img class='frame' src='{escape(s.frame)}' alt='best frame'></a>"
        out.append(_row([str(s.n), f"{escape(s.label)} ({s.identity_id})", f"<code>{escape(s.path)}</code>", span,
                         f"frame {g.best_frame}<br>{float(g.best_time):.2f} s", _num(g.best_distance), str(g.hits), media]))
    out.append("</table>")
    out.append("<p class='note'>Distance: 1 - cosine similarity between the ReID features of the box and of the "
               "identity's closest registration photo; a box is a match under the threshold. The best frame is the "
               "segment's best view among its frames at (nearly) its closest distance.</p>")
    return "\n".join(out)


def _search(c: CaseSummary) -> str:
    r, s = c.report, c.report.settings
    out = ["<h2>Search</h2>", "<table>"]
    rows = [("searched", f"<code>{escape(r.root)}</code>"), ("run", escape(r.created)),
            ("device", escape(str(s.device))), ("sampleFt (every k-th frame)", str(s.sample_ft)),
            ("tracking", f"{'on' if s.tracking else 'off'} ({escape(str(s.tracker))})"),
            ("categories", escape(", ".join(s.categories)))]
    rows += [(f"threshold ({escape(cat)})", _num(t)) for cat, t in sorted(r.thresholds.items())]
    m = r.models
    if m is None:
        rows.append(("models", "not recorded"))
    else:
        rows.append(("detector", escape(m.detector_title or m.detector)))
        for cat, info in sorted(m.reid.items()):
            stand_in = " - a stand-in, not trained for this category" if info.stand_in else ""
            rows.append((f"ReID model ({escape(cat)})", f"{escape(info.title)} (<code>{escape(info.model)}</code>); "
                                                        f"trained on: {escape(info.trained_on or 'not stated')}{stand_in}"))
    out += [_row(row) for row in rows] + ["</table>"]
    return "\n".join(out)


def _sources(c: CaseSummary) -> str:
    out = ["<h2>Source files</h2>", "<table>", _row(["file", "sha256 (at export)", "bytes", "size", "fps", "frames"], head=True)]
    for f in c.sources:
        out.append(_row([f"<code>{escape(f.path)}</code>", f"<code>{f.sha256}</code>", str(f.size), f"{f.width}x{f.height}",
                         (f"{f.fps:g}" + (f"<br><em>{escape(f.time_caution)}</em>" if f.time_caution else ""))
                         if f.kind == "video" else "-", str(f.frame_count) if f.kind == "video" else "photo"]))
    out.append("</table>")
    return "\n".join(out)


def render_html(c: CaseSummary) -> str:
    labels = ", ".join(dict.fromkeys(i.label for i in c.identities))
    blur = ("Everyone and every vehicle the detector found in the exported frames, other than the matched boxes "
            "of the identities above, is pixelated (frames before and after a sighting included)."
            if c.blurred else "Nothing is blurred: the frames are as recorded, with the matched boxes drawn.")
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>", f"<title>Evidence: {escape(labels)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Evidence: {escape(labels)}</h1>",
        f"<p>Made {escape(c.created)} by reid-desktop {escape(c.app_version)} from the search run of "
        f"{escape(c.report.created)}. {len(c.segments)} sighting segment(s) in {len(c.sources)} file(s).</p>",
        _identities(c), _segments(c), _search(c), _sources(c),
        "<h2>Privacy</h2>", f"<p>{blur}</p>",
        "<h2>Integrity</h2>",
        "<p><code>manifest.json</code> and <code>SHA256SUMS</code> hold the sha256 of every other file of this folder "
        "(<code>sha256sum -c SHA256SUMS</code> checks them). <code>results.json</code> and <code>sightings.csv</code> "
        "are the search's results for the identities above in these files.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_html(c: CaseSummary, dest: str | Path) -> Path:
    dest = Path(dest)
    dest.write_text(render_html(c), encoding="utf-8")
    return dest
