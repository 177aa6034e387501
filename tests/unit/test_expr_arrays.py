"""Conditions over numpy / pyarrow columns (the batch path, no pandas) give the row-by-row result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lendguard.policy.expr import ExpressionTypeError, compile_expression

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = {
    "a.n": pa.array([1, 5, None, 30, 7], pa.int64()),
    "a.x": np.array([0.5, np.nan, 2.5, 10.0, -1.0]),
    "a.s": pa.array(["ACTIVE", "FROZEN", None, "ACTIVE", "CLOSED"]),
    "a.b": pa.array([True, False, None, True, False]),
    "a.o": np.array(["revolving", "single_draw", "revolving", "x", "single_draw"], dtype=object),
}
SOURCES = [
    "a.n >= 5 and a.s == 'ACTIVE'",
    "a.x > 1 or a.b",
    "a.s in ['ACTIVE', 'CLOSED'] and not a.b",
    "a.s not in ['FROZEN'] and a.o == 'revolving'",
    "coalesce(a.x, 0) + a.n > 6",
    "a.s < 'B' or a.missing > 1",
    "is_present(a.x) and a.o != 'x'",
    "is_missing(a.n) or abs(a.x) > 2",
    # comparisons with a constant on the right (their own shorter path): every kind of left side
    "a.n == 5 or a.x != 2.5 or a.b == 1",
    "a.s != 'ACTIVE' and a.o != 'x'",
    "a.o == 'revolving' or a.s == 'CLOSED' or a.b != 'x' or a.missing == 'y' or a.missing != 3",
    "a.n < 7 or a.x <= -1 or a.missing >= 0",
]


@pytest.mark.parametrize("source", SOURCES)
def test_hit_arrays_equals_the_row_by_row_result(source):
    expr = compile_expression(source)
    hit, missing = expr.hit_arrays(COLUMNS, 5)
    for i in range(5):
        row = {}
        for name, values in COLUMNS.items():
            value = values[i].as_py() if isinstance(values, pa.Array) else values[i]
            row[name] = value
        want = expr.hit(row)
        assert (bool(hit[i]), bool(missing[i])) == (want is True, want is None), (source, i)


def test_a_type_error_names_the_row_position():
    with pytest.raises(ExpressionTypeError) as err:
        compile_expression("a.n > 6 and a.s > 1").hit_arrays(COLUMNS, 5)
    assert err.value.row == 3 and "(row 3)" in str(err.value)  # the first row reaching the comparison


@pytest.mark.parametrize("source", ["a.s >= 1", "a.b < 2", "a.o > 0.5", "a.n >= 'x'"])
def test_a_comparison_with_a_constant_fails_as_the_row_by_row_path(source):
    expr = compile_expression(source)
    with pytest.raises(ExpressionTypeError) as err:
        expr.hit_arrays(COLUMNS, 5)
    row = {
        k: v[err.value.row].as_py() if isinstance(v, pa.Array) else v[err.value.row]
        for k, v in COLUMNS.items()
    }
    with pytest.raises(ExpressionTypeError) as one:
        expr.hit(row)
    assert str(err.value).replace(f" (row {err.value.row})", "") == str(one.value)


def test_the_book_scores_a_shard_without_pandas():
    script = (
        # pandas absent, as in the batch Lambda (pyarrow's own shim then goes without it too)
        "import sys\n"
        "class NoPandas:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pandas' or name.startswith('pandas.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoPandas())\n"
        "from datetime import date; from pathlib import Path; import yaml\n"
        "from lendguard.book.jobs import JOBS, JobContext\n"
        "from lendguard.models.artifact import ModelArtifact\n"
        "from lendguard.offline.book_synthetic import book_table\n"
        "from lendguard.policy.loader import load_policy_data\n"
        "policy = load_policy_data(yaml.safe_load(Path('policies/default.yaml').read_text()))\n"
        "table = book_table(300, seed=3, as_of=date(2026, 11, 2), labels=False)\n"
        "for job, m in (('inloan', 'behaviour-xgb'), ('postloan', 'rollrate-xgb')):\n"
        "    model = ModelArtifact.load(Path('tests/data/models') / m / 'v1')\n"
        "    ctx = JobContext(job=job, run_id='r', run_date=date(2026, 11, 2), policy=policy, model=model)\n"
        "    assert JOBS[job].score(table, ctx).num_rows == 300\n"
        "assert 'pandas' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
