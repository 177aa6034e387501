"""Environment settings, and the deps-layer bundling, without synthesizing a stack."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra.app import build_app
from infra.constructs import dependency_layer
from infra.settings import ConfigError, available_envs, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_config_is_valid() -> None:
    assert {"dev", "staging", "prod"} <= set(available_envs())
    for name in available_envs():
        load_config(name)
    assert load_config("dev").destroy and not load_config("prod").destroy
    assert not load_config("dev").point_in_time_recovery
    assert load_config("staging").point_in_time_recovery and load_config("prod").point_in_time_recovery


@pytest.mark.parametrize("name", ["nope", "../dev", "", "Dev"])
def test_unknown_env_is_rejected_with_the_known_ones(name: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment .*dev, prod, staging"):
        load_config(name)


def test_build_app_rejects_unknown_env_before_building() -> None:
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        build_app("qa", bundle=False)


def _write(tmp_path: Path, **changes: object) -> Path:
    raw = json.loads((REPO_ROOT / "infra" / "config" / "dev.json").read_text())
    raw.update(changes)
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    return tmp_path


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"log_retention_days": 13}, "log_retention_days"),
        ({"removal_policy": "sometimes"}, "removal_policy"),
        ({"retention_days": 14}, "retention_days"),  # unknown field (a typo)
        ({"reserved_concurrency": {"no_such_function": 5}}, "reserved_concurrency"),
        ({"alarm_email": "not-an-email"}, "alarm_email"),
        ({"account": "12345"}, "account"),
        ({"policy_id": ""}, "policy_id"),
        ({"policy_version": "latest"}, "policy_version"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, changes: dict, field: str) -> None:
    config_dir = _write(tmp_path, **changes)
    with pytest.raises(ConfigError, match=rf"bad\.json: invalid configuration .*field '{re.escape(field)}"):
        load_config("bad", config_dir)


def test_missing_required_field_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"policy_version": 1}))
    with pytest.raises(ConfigError, match="field 'policy_id': Field required"):
        load_config("bad", tmp_path)


# ---- deps layer ---------------------------------------------------------------------------------


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


def test_deps_layer_requirements_follow_pyproject() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r): Requirement(r) for r in project["dependencies"]}
    lines = (dependency_layer.DEPS_DIR / dependency_layer.REQUIREMENTS).read_text().splitlines()
    pinned = {_name(line): Requirement(line) for line in lines if line.strip() and not line.startswith("#")}
    assert set(runtime) <= set(pinned), "pyproject runtime dependency missing from the deps layer"
    assert set(pinned) - set(runtime) <= {"aws-xray-sdk"}  # Powertools Tracer's backend
    for name, requirement in runtime.items():
        (version,) = [s.version for s in pinned[name].specifier]
        assert requirement.specifier.contains(version), f"{name}=={version} violates pyproject {requirement}"


def test_pip_arguments_target_lambda_arm64_py312() -> None:
    args = dependency_layer.pip_arguments("requirements.txt", "/out/python")
    assert args[:5] == ["install", "--requirement", "requirements.txt", "--target", "/out/python"]
    assert "manylinux2014_aarch64" in args
    assert args[args.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in args


def test_local_bundling_falls_back_to_docker_without_pip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_pip(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("pip")

    monkeypatch.setattr(dependency_layer.subprocess, "run", no_pip)
    assert dependency_layer.PipLocalBundling().try_bundle(str(tmp_path)) is False


def test_local_bundling_runs_pip_into_python_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(dependency_layer.subprocess, "run", fake_run)
    assert dependency_layer.PipLocalBundling().try_bundle(str(tmp_path)) is True
    install = calls[-1]
    assert install[install.index("--target") + 1] == str(tmp_path / "python")
