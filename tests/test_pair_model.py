"""The two shipped cross-encoders (the grading reader and the misconception spotter) share their packaging in
tutor/pair_model.py: a checked delta, an export that verifies, an off switch. Each check runs for both."""

from __future__ import annotations

import json
import shutil

import pytest

from tutor import reader, spotter
from tutor.errors import ModelNotInstalled

MODELS = [pytest.param(reader, reader.load_reader, "TUTOR_READER", "_reader", id="reader"),
          pytest.param(spotter, spotter.load_spotter, "TUTOR_SPOTTER", "_spotter", id="spotter")]


@pytest.mark.parametrize(("module", "load", "switch", "doctor_check"), MODELS)
def test_a_corrupt_or_missing_delta_is_refused(tmp_path, module, load, switch, doctor_check):
    spec = module.SPEC
    for name in (spec.delta_file, spec.sidecar_file):
        shutil.copy(module.pair_model.delta_dir() / name, tmp_path / name)
    with open(tmp_path / spec.delta_file, "r+b") as fh:
        fh.seek(-10, 2)
        fh.write(b"\x00" * 10)

    with pytest.raises(ModelNotInstalled, match="sha256"):
        module.delta_meta(tmp_path)
    (tmp_path / spec.delta_file).unlink()
    with pytest.raises(ModelNotInstalled, match="missing"):
        module.delta_meta(tmp_path)


@pytest.mark.parametrize(("module", "load", "switch", "doctor_check"), MODELS)
def test_a_missing_stale_or_fp32_export_says_to_run_the_export(tmp_path, monkeypatch, module, load, switch,
                                                               doctor_check):
    from tutor import doctor

    spec = module.SPEC
    monkeypatch.setenv(spec.env_dir, str(tmp_path))
    module._load.cache_clear()
    try:
        assert load() is None
        with pytest.raises(ModelNotInstalled) as err:
            load(required=True)
        assert f"{spec.module} --export" in str(err.value.fix)
        sha = module.delta_meta()["sha256"]
        for manifest in ({"format_version": spec.format_version, "delta_sha256": "0" * 64, "files": {}},
                         {"format_version": 1, "delta_sha256": sha, "files": {}}):  # 1: session 46's fp32 graph
            (tmp_path / "manifest.json").write_text(json.dumps(manifest))
            assert "stale" in module.problem()
            assert module.main(["--check"]) == 2
            check = doctor._check(switch.lower(), getattr(doctor, doctor_check))
            assert not check["ok"] and "stale" in check["detail"] and f"{spec.module} --export" in check["fix"]
    finally:
        module._load.cache_clear()


@pytest.mark.parametrize(("module", "load", "switch", "doctor_check"), MODELS)
def test_the_off_switch_grades_without_it(monkeypatch, module, load, switch, doctor_check):
    monkeypatch.setenv(switch, "off")
    assert load() is None
    assert load(required=True) is not None  # required (the benches, the eval) ignores the switch
