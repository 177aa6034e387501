"""Run code as a group of Lambda functions would, in a fresh interpreter refusing some packages.

A function's layers decide what it can import; here a meta-path finder refuses the packages those
layers do not ship. The child imports each function's ``handler.py`` as Lambda does, then runs
``body`` (the work the functions do: many imports are made inside functions, so importing alone
would prove nothing). ``body`` sees ``root`` (the checkout) and ``args`` (the extra arguments) and
sets ``report``, a JSON-able dict; :func:`run_closure` returns it with ``attempted`` (every refused
import, including probes the caller survived) and ``heavy`` (refused packages that got loaded).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from lendguard.offline import project

PRELUDE = textwrap.dedent(
    """
    import importlib.abc, importlib.util, json, sys
    from pathlib import Path

    BLOCKED = set(json.loads(sys.argv[1]))
    root, args = Path(sys.argv[3]), sys.argv[4:]
    attempted = []

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                attempted.append(name)
                raise ImportError(f"{name} is not in these functions' layers")
            return None

    sys.meta_path.insert(0, Refuse())
    for name in json.loads(sys.argv[2]):
        spec = importlib.util.spec_from_file_location(f"fn_{name}", root / "functions" / name / "handler.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert callable(module.handler), name
    """
)
EPILOGUE = textwrap.dedent(
    """
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({"attempted": attempted, "heavy": heavy, **report}))
    """
)


def run_closure(blocked: tuple[str, ...], handlers: tuple[str, ...], body: str, *args: str) -> dict[str, Any]:
    """Import ``handlers`` and run ``body`` with only the core layer on the path and ``blocked`` refused."""
    root = project.project_root()
    layer = root / "layers" / "core" / "python"
    child = PRELUDE + textwrap.dedent(body) + EPILOGUE
    result = subprocess.run(
        [sys.executable, "-c", child, json.dumps(blocked), json.dumps(handlers), str(root), *args],
        capture_output=True, text=True, timeout=300, cwd=root,
        env={"PYTHONPATH": str(layer), "PATH": "/usr/bin:/bin", "LENDGUARD_LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
