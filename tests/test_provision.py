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
    for spec in load_registry().models.values():
        path = ASSETS / "models" / spec.file
        assert path.stat().st_size == spec.size
        assert sha256_of(path) == spec.sha256


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
