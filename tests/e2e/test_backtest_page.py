"""The backtest page in headless Chromium: it loads offline with no console errors and shows its plots.

Needs Debian's ``chromium`` (``scripts/ensure-chromium.sh``, run by ``make setup``) and the
``playwright`` package; never ``playwright install``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from browser import offline_only, open_offline

from lendguard.core.hashing import LOCAL_SECRET
from lendguard.offline.backtest.aggregates import aggregate
from lendguard.offline.backtest.compare import compare
from lendguard.offline.backtest.data import prepare
from lendguard.offline.backtest.evaluator import evaluate
from lendguard.offline.backtest.report import build_report, render_html
from lendguard.offline.synthetic import LABEL_COLUMN, backtest_rows
from lendguard.policy.loader import load_policy_data

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PLOTS = ("plot-outcomes", "plot-funnel", "plot-scores", "plot-bands", "plot-curve", "plot-rules")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, default_policy, default_model) -> Path:
    _, rows, _ = backtest_rows(600, 4, LOCAL_SECRET, default_policy, NOW)
    prepared = prepare(pd.DataFrame(rows), default_policy, default_model, LABEL_COLUMN, "1")
    data = default_policy.model_dump(mode="json", exclude_none=True) | {"version": 2}
    data["cutoffs"] = {"review_min": 580, "approve_min": 600}
    other = load_policy_data(data, "<v2>")
    ev = evaluate(default_policy, default_model, prepared.frame, NOW)
    ev2 = evaluate(other, default_model, prepared.frame, NOW)
    report = build_report(
        default_policy, aggregate(ev, prepared.labels), {"source": "generated", "label": LABEL_COLUMN},
        (other, aggregate(ev2, prepared.labels), compare(ev, ev2, prepared.labels)),
    )  # fmt: skip
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(render_html(report))
    return path


def test_report_page_loads_offline_without_errors_and_shows_every_plot(
    page_file, tmp_path, default_policy, browser
) -> None:
    page, errors, requests = open_offline(browser, page_file)
    for plot_id in PLOTS:
        figure = page.locator(f"#{plot_id}")
        assert figure.count() == 1, plot_id
        box = figure.locator("svg").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, plot_id
    assert page.locator("#rules tbody tr").count() == len(default_policy.all_rules())
    assert page.locator("#swaps tbody tr").count() == 2
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert errors == []
    assert offline_only(requests) == []  # nothing fetched: works offline
