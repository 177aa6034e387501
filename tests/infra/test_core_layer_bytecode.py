"""The core layer's bytecode: compiled by the runtime's Python, unchecked-hash, naming /opt/python."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.constructs.core_layer import (
    LAMBDA_PACKAGE_DIR,
    RUNTIME_ENTRIES,
    compile_package,
    copy_runtime_package,
    find_runtime_python,
    runtime_version,
    source_dir,
)
from infra.constructs.function import RUNTIME

VERSION = runtime_version(RUNTIME)
PYTHON = find_runtime_python(VERSION)
needs_runtime_python = pytest.mark.skipif(PYTHON is None, reason=f"no python{VERSION} on this machine")


def test_the_runtime_version_is_read_from_the_cdk_runtime() -> None:
    assert VERSION == "3.12"


def test_an_interpreter_of_another_version_is_never_chosen() -> None:
    assert find_runtime_python("2.1") is None


@needs_runtime_python
def test_every_shipped_module_gets_unchecked_hash_bytecode_for_the_runtime(tmp_path: Path) -> None:
    assert PYTHON is not None
    package = copy_runtime_package(source_dir(), tmp_path)
    assert {p.name for p in package.iterdir()} == RUNTIME_ENTRIES & {
        p.name for p in (source_dir() / "python" / "lendguard").iterdir()
    }
    assert not list(package.rglob("__pycache__"))  # the development caches stay behind
    compile_package(PYTHON, package)
    tag = f"cpython-{VERSION.replace('.', '')}"
    for source in package.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        assert pyc.is_file(), source
    sample = package / "core" / "lazy.py"
    data = (sample.parent / "__pycache__" / f"lazy.{tag}.pyc").read_bytes()
    flags = int.from_bytes(data[4:8], "little")
    assert flags == 0b01  # hash-based, source not checked: the layer is immutable
    # The code object names the file where Lambda mounts it (tracebacks); only the runtime's
    # Python can unmarshal its own bytecode.
    out = subprocess.run(
        [PYTHON, "-c", "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)",
         str(sample.parent / "__pycache__" / f"lazy.{tag}.pyc")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == f"{LAMBDA_PACKAGE_DIR}/core/lazy.py"
