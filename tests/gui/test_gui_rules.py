"""One home per rule: the GUI's and the CLI's choices are Algorithm.rules' own objects, not copies.

Change a range or a list in Algorithm/rules.py and the spin boxes, the file dialogs and the CLI follow; these tests
fail if a page or dialog goes back to a hand-written value.
"""
from __future__ import annotations

import re

import pytest

from Algorithm import rules
from Algorithm.cli.main import build_parser
from GUI import UiDialogModel, UiDialogSettings, UiPageProcess, UiPageRegister


def filter_exts(filt: str) -> list[str]:
    """The extensions of the first entry of a Qt file-dialog filter ("Images (*.jpg *.png);;All files (*)")."""
    first = filt.split(";;")[0]
    return re.findall(r"\*(\.[A-Za-z0-9]+)", first)


def test_gui_modules_hold_the_rules_objects():
    assert UiDialogSettings.THRESHOLD_RANGE is rules.THRESHOLD_RANGE
    assert UiDialogSettings.SAMPLE_FT_RANGE is rules.SAMPLE_FT_RANGE
    assert UiDialogSettings.DEVICES is rules.DEVICES
    assert UiDialogSettings.SPEEDS is rules.SPEEDS
    assert UiDialogSettings.DEVICE_TITLES is rules.DEVICE_TITLES
    assert UiDialogModel.THRESHOLD_RANGE is rules.THRESHOLD_RANGE
    assert UiDialogModel.PRESETS is rules.NORMALIZATION_PRESETS
    assert UiDialogModel.CHANNEL_ORDERS is rules.CHANNEL_ORDERS


def test_settings_dialog_spin_boxes_follow_the_rules(qtbot, gui_engine):
    dlg = UiDialogSettings.SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    t, r = dlg.threshold, rules.THRESHOLD_RANGE
    assert (t.minimum(), t.maximum()) == pytest.approx((r.low, r.high))
    assert (t.decimals(), t.singleStep()) == (r.decimals, pytest.approx(r.step))
    s, r = dlg.sample_ft, rules.SAMPLE_FT_RANGE
    assert (s.minimum(), s.maximum()) == (r.low, r.high)
    assert [dlg.device.itemData(i) for i in range(dlg.device.count())] == list(rules.DEVICES)
    for i, name in enumerate(rules.DEVICES):
        assert dlg.device.itemText(i).startswith(rules.DEVICE_TITLES[name])


def test_add_model_dialog_follows_the_rules(qtbot, gui_engine):
    dlg = UiDialogModel.AddModelDialog(gui_engine)
    qtbot.addWidget(dlg)
    t, r = dlg.threshold, rules.THRESHOLD_RANGE
    assert (t.minimum(), t.maximum()) == pytest.approx((r.low, r.high))
    assert [dlg.order.itemText(i) for i in range(dlg.order.count())] == list(rules.CHANNEL_ORDERS)
    assert [dlg.preset.itemText(i) for i in range(dlg.preset.count())] == [*rules.NORMALIZATION_PRESETS, "Custom"]
    # a preset fills in its mean and std
    name, (mean, std) = next(iter(rules.NORMALIZATION_PRESETS.items()))
    dlg.preset.setCurrentText(name)
    assert [float(v) for v in dlg.mean.text().split(",")] == pytest.approx(mean)
    assert [float(v) for v in dlg.std.text().split(",")] == pytest.approx(std)
    # model names: the rules' check and suggestion
    dlg.file.setText("/models/CLIP-ReID VeRi (1).onnx")
    assert dlg.model_name() == rules.suggest_model_name("CLIP-ReID VeRi (1)")
    dlg.name.setText("bad name/with slash")
    with pytest.raises(ValueError) as e:
        rules.check_model_name("bad name/with slash")
    assert dlg.problem() == str(e.value)
    dlg.name.setText("good_name-1.0")
    assert dlg.problem() is None


def test_file_filters_are_built_from_the_rules():
    assert UiPageRegister.IMAGE_FILTER == rules.file_filter(("image",))
    assert filter_exts(UiPageRegister.IMAGE_FILTER) == [f"{e}" for e in rules.IMAGE_EXTS]
    assert UiPageProcess.MEDIA_FILTER == rules.file_filter(("image", "video"))
    assert filter_exts(UiPageProcess.MEDIA_FILTER) == [*rules.IMAGE_EXTS, *rules.VIDEO_EXTS]
    assert filter_exts(UiDialogModel.SAMPLE_FILTER) == list(rules.IMAGE_EXTS)


def test_cli_threshold_and_device_follow_the_rules(capsys):
    ap = build_parser()
    r = rules.THRESHOLD_RANGE
    args = ap.parse_args(["search", "clip.mp4", "--threshold", str(r.high)])
    assert args.threshold == r.high
    args = ap.parse_args(["search", "clip.mp4", "--threshold", str(r.low)])
    assert args.threshold == r.low
    for outside in (r.high + 0.01, r.low / 2, -0.1):
        with pytest.raises(SystemExit):
            ap.parse_args(["search", "clip.mp4", "--threshold", str(outside)])
        assert "threshold" in capsys.readouterr().err
    search = next(a for a in ap._subparsers._group_actions[0].choices["search"]._actions if a.dest == "device")
    assert tuple(search.choices) == rules.DEVICES
    assert search.choices is rules.DEVICES


def test_speed_choices_are_the_rules_in_the_dialog_the_cli_and_the_results(qtbot, gui_engine, tmp_path):
    dlg = UiDialogSettings.SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    assert [dlg.speed.itemData(i) for i in range(dlg.speed.count())] == list(rules.SPEEDS)
    assert dlg.speed.currentData() == gui_engine.settings.speed == rules.DEFAULT_SPEED
    dlg.speed.setCurrentIndex(dlg.speed.findData("fast"))
    assert "24th" in dlg.speed_note.text()
    assert dlg.values()["speed"] == "fast"
    search = build_parser().parse_args(["search", "x.mp4", "--speed", "exact"])
    assert search.speed == "exact"
    index = build_parser().parse_args(["index", "x.mp4"])
    assert index.speed == rules.DEFAULT_SPEED
    with pytest.raises(ValueError, match="speed must be one of"):
        gui_engine.settings.with_(speed="ludicrous")
