"""Evaluation and calibration: metrics against hand-computed toy cases, then end to end on the real assets
(Market-1501 crops, MOT17-mini) through the functions, the CLI (one run in a subprocess) and the GUI page."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from Algorithm import geometry
from Algorithm.errors import InputError
from Algorithm.evaluation import calibrate as cb
from Algorithm.evaluation import datasets, error_rates, metrics, pairs, reid_eval

from testdata import MARKET, MOT

MOT05 = MOT / "MOT17-05-FRCNN"


# -- metrics on a toy case ----------------------------------------------------------------------------
# Gallery: pid, camera. g5 is junk (-1), g6 a distractor (0).
G_PIDS = [1, 1, 2, 3, 2, -1, 0]
G_CAMS = [1, 2, 2, 1, 3, 2, 2]
# Queries: (pid 1, cam 1), (pid 2, cam 1), (pid 3, cam 2), (pid 3, cam 1): the last one's only pid-3 image
# is from its own camera, so it has no valid match.
Q_PIDS = [1, 2, 3, 3]
Q_CAMS = [1, 1, 2, 1]
DIST = np.array([
    #  g0    g1    g2    g3    g4    g5    g6
    [0.10, 0.50, 0.30, 0.40, 0.60, 0.05, 0.20],  # q0: g0 same pid+cam and g5 junk drop out -> N N N P N: AP 1/4
    [0.70, 0.80, 0.10, 0.50, 0.30, 0.90, 0.20],  # q1: P N P N N N: AP (1 + 2/3)/2, INP 2/3
    [0.30, 0.20, 0.40, 0.25, 0.50, 0.60, 0.10],  # q2: N N P ...: AP 1/3, INP 1/3
    [0.30, 0.20, 0.40, 0.01, 0.50, 0.60, 0.10],  # q3: g3 (pid 3, cam 1) excluded -> no positive left
])


def test_rank_metrics_hand_computed():
    r = metrics.rank_metrics(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, ranks=(1, 3, 5), q_names=["q0", "q1", "q2", "q3"])
    assert r.n_queries == 4 and r.n_valid_queries == 3 and r.n_no_match == 1
    assert r.queries_without_match == ["q3"]
    assert [q.first_hit_rank for q in r.per_query] == [4, 1, 3, None]
    assert r.ranks[1] == pytest.approx(1 / 3)
    assert r.ranks[3] == pytest.approx(2 / 3)
    assert r.ranks[5] == pytest.approx(1.0)
    assert r.mAP == pytest.approx((1 / 4 + (1 + 2 / 3) / 2 + 1 / 3) / 3)
    assert r.mINP == pytest.approx((1 / 4 + 2 / 3 + 1 / 3) / 3)
    # the JSON the CLI writes keeps its keys: rank<k>, per-query rows without the unscored fields
    j = r.to_json()
    assert j["rank3"] == r.ranks[3] and j["n_no_match"] == 1
    assert j["per_query"][3] == {"query": "q3", "pid": 3, "valid": False}
    # blocks of queries merge into the metrics of all of them
    parts = [metrics.rank_metrics(DIST[i : i + 2], Q_PIDS[i : i + 2], G_PIDS, Q_CAMS[i : i + 2], G_CAMS, (1, 3, 5))
             for i in (0, 2)]
    m = metrics.RankMetrics.merge(parts, (1, 3, 5))
    assert (m.mAP, m.ranks) == (pytest.approx(r.mAP), r.ranks) and m.n_no_match == 1


def test_rank_metrics_needs_the_same_camera_exclusion():
    # Same query 0, but its same-camera image moved to camera 3: now it is a valid rank-1 hit.
    cams = list(G_CAMS)
    cams[0] = 3
    r = metrics.rank_metrics(DIST[:1], Q_PIDS[:1], G_PIDS, Q_CAMS[:1], cams)
    assert r.ranks[1] == 1.0
    assert r.mAP == pytest.approx((1 + 2 / 5) / 2)  # positives at ranks 1 and 5 (junk g5 dropped)


def test_no_valid_query_gives_null_metrics():
    r = metrics.rank_metrics(DIST[3:], Q_PIDS[3:], G_PIDS, Q_CAMS[3:], G_CAMS)
    assert r.n_valid_queries == 0
    assert r.ranks[1] is None and r.mAP is None and r.mINP is None


def test_parse_market_name():
    assert datasets.parse_market_name("0022_c6s1_002976_01.jpg") == (22, 6)
    assert datasets.parse_market_name("-1_c3s2_000001_00.jpg") == (-1, 3)
    assert datasets.parse_market_name("0000_c1s1_000001_00.jpg") == (0, 1)
    assert datasets.parse_market_name("0002_c002_00030600_0.jpg") == (2, 2)  # VeRi
    assert datasets.parse_market_name("holiday.jpg") is None


def test_iou():
    assert geometry.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert geometry.iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert geometry.iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


def test_sighting_score_toy():
    from Algorithm.evaluation.sighting_score import GtSighting, LabelledBox, score

    recs = [
        GtSighting("s", 2, 1, 0.10, True), GtSighting("s", 3, 1, 0.30, True), GtSighting("s", 3, 2, None, False),
        LabelledBox("s", 2, 1, 0.10, "tp"), LabelledBox("s", 3, 1, 0.30, "tp"),
        LabelledBox("s", 3, 1, 0.20, "fp", stranger=True), LabelledBox("s", 1, 1, 0.0, "ignore"),
    ]
    o, rows = score(recs, 0.25)  # a match is a distance < t: the 0.30 hit and box are out
    assert (o.tp, o.fp, o.hits, o.sightings, o.fn, o.detected, o.ignored, o.fp_on_strangers) == (1, 1, 1, 3, 2, 2, 1, 1)
    assert o.precision == 0.5 and o.recall == pytest.approx(1 / 3) and o.detector_recall == pytest.approx(2 / 3)
    assert [(r.id, r.precision, r.recall) for r in rows] == [(1, 0.5, 0.5), (2, None, 0.0)]
    assert rows[0].to_json()["fp_on_strangers"] == 1 and o.to_json()["identities"] == 2
    o, _ = score(recs, 0.5)
    assert (o.tp, o.hits) == (2, 2)


def test_rank_gallery_toy():
    from Algorithm.evaluation.ranking import GalleryFeatures, rank_gallery
    from Algorithm.media import encode_crop

    vecs = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]], np.float32)
    jpeg = encode_crop(np.zeros((8, 4, 3), np.uint8))

    class E:  # what ranking reads of a stored photo
        def __init__(self, i):
            self.id, self.crop_jpeg = i, jpeg

    g = GalleryFeatures(np.array([10, 11, 12, 13]), np.array([1, 1, 2, 3]), vecs, {1: "a", 2: "b"},
                        lambda ident: [E(i) for i, k in zip((10, 11, 12, 13), (1, 1, 2, 3)) if k == ident])
    rows = rank_gallery(np.array([1.0, 0.0]), g, top=3)
    assert [(r.rank, r.entry_id, r.label) for r in rows] == [(1, 10, "a"), (2, 11, "a"), (3, 13, "#3")]
    assert rows[1].distance == pytest.approx(0.2) and rows[0].crop.shape[2] == 3
    rows = rank_gallery(np.array([1.0, 0.0]), g, top=3, per_identity=True)
    assert [r.identity_id for r in rows] == [1, 3, 2]
    assert set(rows[0].to_json()) == {"rank", "entry_id", "identity_id", "label", "distance"}


# -- calibration on toy distances ---------------------------------------------------------------------
def test_suggest_threshold_toy():
    imp = np.round(np.arange(1, 11) / 10, 2)  # 0.1 ... 1.0
    gen = np.array([0.05, 0.15, 0.25])
    s = error_rates.suggest_threshold(imp, 0.1, gen)
    assert s.threshold == pytest.approx(0.2)  # below 0.2 lies exactly one impostor of ten
    assert s.fmr == pytest.approx(0.1) and s.fnmr == pytest.approx(1 / 3)
    assert s.resolved and not s.reliable
    s = error_rates.suggest_threshold(imp, 0.05, gen)  # 10 pairs cannot show 5%: no false match allowed
    assert s.threshold == pytest.approx(0.1) and s.fmr == 0.0 and not s.resolved and s.note
    assert "note" in s.to_json() and "note" not in s.to_json(with_note=False)
    with pytest.raises(ValueError):
        error_rates.suggest_threshold(imp, 1.5)


def test_suggest_threshold_is_the_largest_within_target():
    rng = np.random.default_rng(1)
    imp = rng.normal(0.55, 0.08, 5000)
    gen = np.clip(rng.normal(0.15, 0.07, 800), 0.001, 2.0)  # distances are positive
    for target in (0.001, 0.01, 0.05):
        s = error_rates.suggest_threshold(imp, target, gen)
        assert error_rates.fmr_at(imp, s.threshold) <= target
        assert error_rates.fmr_at(imp, s.threshold + 0.002) > target  # one step up would break the target
    c = error_rates.error_curves(gen, imp, [0.0, 0.3, 2.0])
    assert list(c.fmr) == [0.0, pytest.approx(np.mean(imp < 0.3)), 1.0]
    assert list(c.fnmr) == [1.0, pytest.approx(np.mean(gen >= 0.3)), 0.0]
    e = error_rates.equal_error(gen, imp)
    assert 0.25 < e.threshold < 0.45 and e.rate < 0.05
    st = error_rates.DistanceStats.of(imp, (0.1, 50))
    assert st.percentile(50) == pytest.approx(np.median(imp)) and set(st.to_json()) == {"n", "mean", "min", "max", "p0.1", "p50"}
    assert error_rates.DistanceStats.of(np.zeros(0), (50,)).to_json() == {"n": 0}


def test_pair_distances_toy():
    a, b = np.array([1.0, 0.0]), np.array([0.6, 0.8])  # cosine(a, b) = 0.6
    feats = np.stack([a, a, b, b, a])
    p = pairs.pair_distances(feats, pids=[1, 1, 2, 2, -1], cams=[1, 2, 1, 1, 1])
    # genuine: (0,1) only ((2,3) share a camera); impostors: 0-2, 0-3, 1-2, 1-3; the junk image takes no part
    assert sorted(p.genuine) == pytest.approx([0.0])
    assert sorted(p.impostor) == pytest.approx([0.4] * 4)
    assert p.impostor_total == 4 and p.n_identities == 2
    p = pairs.pair_distances(feats[:4], pids=[1, 1, 2, 2], cams=[1, 2, 1, 1], exclude_same_cam=False)
    assert len(p.genuine) == 2
    p = pairs.pair_distances(feats[:4], pids=[1, 1, 2, 2], groups=[0, 0, 1, 1])  # pairs only inside a group
    assert len(p.impostor) == 0 and len(p.genuine) == 2


def test_save_threshold_keeps_the_spec(tmp_path):
    from Algorithm.models.registry import load_registry

    local = tmp_path / "local_models.json"
    local.write_text(json.dumps({"models": {"mine": {"kind": "reid", "file": "x.onnx"}}, "active": {"detector": "yolox_nano"}}))
    before = load_registry(local=local).reid_for("person")
    cb.save_threshold(0.3214, "person", local)
    reg = load_registry(local=local)
    after = reg.reid_for("person")
    assert after.threshold_for("person") == pytest.approx(0.3214)
    assert after.threshold_for("vehicle") == before.threshold_for("vehicle")
    assert (after.sha256, after.file, after.mean, after.input_size) == \
           (before.sha256, before.file, before.mean, before.input_size)
    data = json.loads(local.read_text())
    assert "mine" in data["models"] and data["active"] == {"detector": "yolox_nano"} and reg.detector == "yolox_nano"
    with pytest.raises(InputError, match="cannot be saved"):
        cb.save_threshold(0.0, "person", local)


# -- real data --------------------------------------------------------------------------------------------
def test_market_samples_have_no_valid_query(engine):
    ext = engine.extractor("person")
    r = reid_eval.evaluate_reid(MARKET, ext, "osnet")
    m = r.metrics
    assert m.n_queries == 5 and r.n_gallery == 5 and r.n_identities == 5
    assert m.n_valid_queries == 0 and len(m.queries_without_match) == 5
    assert m.ranks[1] is None and m.mAP is None
    assert any("undefined" in n for n in r.notes)
    j = r.to_json()  # the keys `evaluate reid --out` has always written
    assert j["format"] == "reid-app-eval-reid" and j["mode"] == "single-folder" and j["model"] == "osnet"
    assert {"rank1", "rank5", "rank10", "mAP", "mINP", "n_queries", "per_query", "notes"} <= set(j)
    cal = cb.calibrate_folder(MARKET, ext, 0.01, 0.25, "osnet")
    assert cal.genuine_pairs == 0 and cal.impostor_pairs == 10
    assert cal.suggested is None and cal.recommended_threshold is None  # no same-identity pair: no suggestion
    assert cal.refusal.startswith("No same-identity pairs") and cal.to_json()["refusal"] == cal.refusal
    assert cal.impostor_distance.min > 0.25  # the five people are told apart at the default threshold
    assert any("Market naming" in n for n in cal.notes) and any("No same-identity pairs" in n for n in cal.notes)


def test_calibrate_cli_on_mot_and_plot(tmp_path, capsys):
    from Algorithm.cli.main import main

    out, plot = tmp_path / "cal.json", tmp_path / "cal.png"
    assert main(["calibrate", str(MOT05), "--target-fmr", "5%", "--plot", str(plot), "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"
    assert rep["identities"] == 5 and rep["genuine_pairs"] > 20 and rep["impostor_pairs"] > 100
    assert rep["genuine_distance"]["p50"] < 0.2 < 0.4 < rep["impostor_distance"]["p50"]
    s = rep["suggested"]
    # between the typical same-person and different-person distances (their scale depends on the model)
    assert s["target_fmr"] == 0.05 and s["fmr"] <= 0.05
    assert rep["genuine_distance"]["p50"] < s["threshold"] < rep["impostor_distance"]["p50"]
    assert "suggested threshold for FMR <= 0.05" in capsys.readouterr().out


def test_calibrate_gallery_and_rank(engine, tmp_path, capsys):
    from Algorithm.cli.main import main
    from Algorithm.media import write_image

    cs = datasets.mot_crops(MOT05)
    crops = cs.loader(list(range(len(cs))))
    for crop, pid in zip(crops, cs.pids):
        engine.register(crop, f"id{pid}", whole=True)
    cal = engine.calibrate_gallery("person", 0.05)
    _, counts = np.unique(cs.pids, return_counts=True)
    assert cal.genuine_pairs == int((counts * (counts - 1) // 2).sum())
    assert cal.identities_with_several_photos == int((counts >= 2).sum())
    assert cal.to_json()["identities_with_several_photos"] == cal.identities_with_several_photos
    assert cal.with_target(0.2).suggested_threshold >= cal.suggested_threshold

    # rank: a later crop of id1 against a gallery of first crops
    gal = tmp_path / "first.db"
    first = {}
    for i, pid in enumerate(cs.pids):
        first.setdefault(int(pid), i)
    q = tmp_path / "query.jpg"
    write_image(q, crops[max(i for i, p in enumerate(cs.pids) if p == 1)])
    from Algorithm.outer_api import Engine, Settings

    g = Engine(gal, Settings(keep_frames=False))
    for pid, i in first.items():
        g.register(crops[i], f"id{pid}", whole=True)
    g.close()
    png = tmp_path / "ranked.png"
    capsys.readouterr()
    assert main(["rank", str(q), "--gallery", str(gal), "--top", "3", "--whole", "--out", str(png)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert lines[1].startswith("  #1 id1 ") and lines[1].endswith("match")
    assert len([x for x in lines if x.startswith("  #")]) == 3


def test_evaluate_tracks_cli_subprocess(tmp_path):
    out = tmp_path / "tracks.json"
    p = subprocess.run([sys.executable, "-m", "Algorithm", "evaluate", "tracks", str(MOT05), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=180, cwd=str(Path(metrics.__file__).parents[2]))
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(out.read_text())
    from Algorithm.models.registry import load_registry

    default = load_registry().reid_for("person").threshold_for("person")  # the active person model's own
    assert r["format"] == "reid-app-eval-tracks" and r["threshold"] == default and r["iou"] == 0.5
    assert r["filter"]["min_visibility"] == 0.5 and "visibility" in r["filter"]["text"]
    (seq,) = r["sequences"]
    assert seq["name"] == "MOT17-05-FRCNN" and seq["frames"] == 6 and seq["identities_registered"] == 5
    o = r["overall"]
    assert o["sightings"] == 21 - 5  # every filtered GT box but the five registration boxes
    assert o["precision"] >= 0.8 and o["recall"] >= 0.6 and o["tp"] + o["fp"] > 0
    assert o["hits"] <= o["detected"] <= o["sightings"]
    assert {"precision", "recall", "tp", "fp"} <= set(seq["identities"][0])
    rec = [w["recall"] for w in r["sweep"]]
    assert rec == sorted(rec) and rec[0] < rec[-1]  # recall grows with the threshold
    assert "precision" in p.stdout and "MOT17-05-FRCNN" in p.stdout


def test_calibrate_page(engine):
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from GUI.UiPageCalibrate import CalibratePage

    app = QApplication.instance() or QApplication([])
    cs = datasets.mot_crops(MOT05)
    for crop, pid in zip(cs.loader(list(range(len(cs)))), cs.pids):
        engine.register(crop, f"id{pid}", whole=True)
    page = CalibratePage(engine)
    page.compute()
    assert page.busy
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: None if page.busy else loop.quit())
    timer.start(50)
    QTimer.singleShot(30_000, loop.quit)
    loop.exec()
    timer.stop()
    app.processEvents()
    assert page.calibration is not None, page.status.text()
    assert "Suggested threshold" in page.result.text() and page.apply_btn.isEnabled()
    assert f"Current {engine.threshold('person'):.3f}: false matches" in page.result.text()
    t1 = page.calibration.suggested_threshold
    page.target.setValue(10.0)
    assert page.calibration.target_fmr == pytest.approx(0.10) and page.calibration.suggested_threshold >= t1
    page.close()
