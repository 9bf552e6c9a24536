import pytest

from ferroscreen.errors import FerroscreenError, ModelBundleError
from ferroscreen.models import registry as reg
from ferroscreen.models.registry import (
    ModelHashError,
    RegisteredModel,
    UnknownModelError,
    file_sha256,
    register_model,
    resolve_model,
)


@pytest.fixture
def fake_entry(tmp_path, monkeypatch):
    f = tmp_path / "toy.pt"
    f.write_bytes(b"weights v1")
    entry = RegisteredModel("toy-test", "toy-task", "toy.pt", file_sha256(f))
    monkeypatch.setitem(reg._REGISTRY, "toy-test", entry)
    monkeypatch.setenv(reg.MODEL_DIR_ENV, str(tmp_path))
    return f


def test_resolve_registered_name_checks_hash(fake_entry):
    assert resolve_model("toy-test") == fake_entry
    assert resolve_model("toy-test", task="toy-task") == fake_entry
    fake_entry.write_bytes(b"weights v2 (tampered)")
    with pytest.raises(ModelHashError, match="sha256"):
        resolve_model("toy-test")


def test_wrong_task_and_unknown_name(fake_entry):
    with pytest.raises(UnknownModelError, match="toy-task"):
        resolve_model("toy-test", task="nuclei-segmentation")
    with pytest.raises(UnknownModelError, match="unknown model"):
        resolve_model("no-such-model")
    with pytest.raises(UnknownModelError, match="not found"):
        resolve_model("missing/file.pt")
    assert issubclass(ModelHashError, FerroscreenError)


def test_local_path_override(tmp_path):
    f = tmp_path / "mine.pt"
    f.write_bytes(b"abc")
    assert resolve_model(f) == f
    assert resolve_model(str(f), sha256=file_sha256(f)) == f
    with pytest.raises(ModelHashError):
        resolve_model(f, sha256="0" * 64)


def test_registered_but_missing_file(tmp_path, monkeypatch):
    entry = RegisteredModel("ghost-test", "x", "ghost.pt", "1" * 64)
    monkeypatch.setitem(reg._REGISTRY, "ghost-test", entry)
    monkeypatch.setenv(reg.MODEL_DIR_ENV, str(tmp_path))
    with pytest.raises(ModelBundleError, match="ghost.pt"):
        resolve_model("ghost-test")


def test_register_validates(monkeypatch):
    monkeypatch.setattr(reg, "_REGISTRY", dict(reg._REGISTRY))
    with pytest.raises(ValueError):
        register_model(RegisteredModel("bad", "x", "f.pt", "abc"))
    m = register_model(RegisteredModel("ok-test", "x", "f.pt", "a" * 64))
    with pytest.raises(ValueError, match="already"):
        register_model(RegisteredModel("ok-test", "x", "g.pt", "b" * 64))
    assert m in reg.list_models("x")


def test_shipped_nuclei_weights_match_registry(monkeypatch):
    monkeypatch.delenv(reg.MODEL_DIR_ENV, raising=False)
    import ferroscreen.models.pretrained as pre

    path = resolve_model("nuclei-aits", task="nuclei-segmentation")
    assert path.parent == reg.PACKAGE_WEIGHTS_DIR
    assert path.stat().st_size < 5 * 2**20  # a few MB at most
    assert file_sha256(path) == pre.NUCLEI_AITS.sha256
