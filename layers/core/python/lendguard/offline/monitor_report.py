"""The daily monitor's report as one self-contained HTML page (inline SVG plots, no scripts)."""

from __future__ import annotations

import html

from lendguard.monitoring.evaluate import Figure, MonitorReport
from lendguard.offline.backtest.report import _svg  # one SVG embedding for every report

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
th{background:#f3f3f3}td.name{text-align:left}.warn{background:#fff3c4}.alarm{background:#ffc9c9}
.missing{background:#e8e8ff}.summary span{display:inline-block;margin-right:1rem}
"""


def _plots(report: MonitorReport) -> list[tuple[str, str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    plots: list[tuple[str, str, str]] = []
    if report.series:
        days = sorted(report.series)
        fig, ax = plt.subplots(figsize=(8, 3))
        for rate in ("approve_rate", "review_rate", "reject_rate"):
            ax.plot(days, [report.series[d][rate] for d in days], marker="o", label=rate.replace("_", " "))
        ax.set_ylim(0, 1)
        ax.legend(loc="upper left", fontsize=8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        plots.append(("plot-rates", "Decision rates per day", _svg(fig)))
    psis = [f for f in report.figures if f.arm is None and f.name.startswith("psi:") and f.value is not None]
    if psis:
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(psis) + 1))
        colors = {"alarm": "#d33", "warn": "#e9b300"}
        ax.barh([f.name[4:] for f in psis], [f.value or 0 for f in psis],
                color=[colors.get(f.severity, "#4a7") for f in psis])  # fmt: skip
        ax.set_xlabel("PSI vs training")
        plots.append(("plot-psi", "PSI per model input", _svg(fig)))
    if report.score_histogram.get("day"):
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.hist(report.score_histogram["day"], bins=30, alpha=0.6, density=True, label="day")
        if report.score_histogram.get("window"):
            ax.hist(report.score_histogram["window"], bins=30, alpha=0.6, density=True, label="window")
        ax.set_xlabel("model points")
        ax.legend(fontsize=8)
        plots.append(("plot-score", "Score distribution vs baseline window", _svg(fig)))
    return plots


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:.4f}"


def _table(title: str, figures: list[Figure], pct: bool, table_id: str) -> str:
    if not figures:
        return ""
    rows = []
    for f in figures:
        note = html.escape(f.note or "")
        rows.append(
            f'<tr class="{f.severity}"><td class="name">{html.escape(f.name)}</td>'
            f"<td>{html.escape(f.arm or 'all')}</td><td>{_fmt(f.value, pct)}</td><td>{_fmt(f.baseline, pct)}</td>"
            f"<td>{_fmt(f.shift, pct)}</td><td>{f.against}</td><td>{f.severity}</td>"
            f'<td class="name">{note}</td></tr>'
        )
    head = "<tr><th>figure</th><th>arm</th><th>value</th><th>baseline</th><th>shift</th><th>vs</th><th>flag</th><th>note</th></tr>"
    return f'<h2>{html.escape(title)}</h2><table id="{table_id}">{head}{"".join(rows)}</table>'


def _delinquency(report: MonitorReport) -> str:
    """Early delinquency by vintage and score band, one table per group (all, then each arm)."""
    parts = ["<h2>Early delinquency of recent vintages by score band</h2>"]
    if report.early_delinquency_note:
        parts.append(f'<p id="delinquency-note">{html.escape(report.early_delinquency_note)}</p>')
    flags = {(f.arm, f.name): f.severity for f in report.figures}
    for table in report.early_delinquency:
        rows = []
        for r in table.rows:
            cells = []
            worst = "ok"
            for measure in ("fpd", "dpd7", "dpd30"):
                rate = getattr(r, measure)
                severity = (
                    flags.get((table.arm, f"{measure}_rate:{r.band}"), "ok") if r.vintage is None else "ok"
                )
                if severity in ("warn", "alarm") and worst != "alarm":
                    worst = severity
                cells.append(f"<td>{_fmt(rate.rate, True)} ({rate.k}/{rate.n})</td>")
            rows.append(
                f'<tr class="{worst}"><td>{html.escape(r.vintage or "all recent")}</td>'
                f'<td class="name">{html.escape(r.band)}</td><td>{r.accounts}</td>{"".join(cells)}</tr>'
            )
        parts.append(
            f"<h3>{html.escape(table.arm or 'all cases')} (as of {table.as_of}; FPD: first instalment "
            f"{table.fpd_days}+ days unpaid)</h3>"
            f'<table class="delinquency"><tr><th>vintage</th><th>score band</th><th>accounts</th><th>FPD</th>'
            f"<th>7+ dpd</th><th>30+ dpd</th></tr>{''.join(rows)}</table>"
        )
    return "".join(parts)


def _csi(figures: list[Figure]) -> str:
    parts = []
    for f in figures:
        if not f.csi or f.arm is not None or f.against != "training":
            continue
        rows = "".join(
            f'<tr><td class="name">{html.escape(r.bin)}</td><td>{r.expected_share:.3f}</td>'
            f"<td>{r.actual_share:.3f}</td><td>{r.contribution:.4f}</td></tr>"
            for r in f.csi
        )
        parts.append(
            f"<details><summary>{html.escape(f.name)} (PSI {_fmt(f.value)})</summary><table>"
            f"<tr><th>bin</th><th>expected</th><th>actual</th><th>CSI</th></tr>{rows}</table></details>"
        )
    return "<h2>CSI tables</h2>" + "".join(parts) if parts else ""


def render_html(report: MonitorReport) -> str:
    """The whole page."""
    title = f"lendguard monitor {report.first_day}" + (
        f" to {report.last_day}" if report.last_day != report.first_day else ""
    )
    counts = report.flag_counts()
    summary = "".join(
        f"<span>{family}: {c['alarm']} alarm, {c['warn']} warn</span>" for family, c in counts.items()
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{report.cases} cases; window {report.window[0]} to {report.window[1]} ({report.window_cases} cases);"
        f" model {html.escape(report.model or 'none')}; arms: {html.escape(', '.join(report.arms) or 'none')}</p>",
        f'<p class="summary" id="flag-summary">{summary}</p>',
    ]
    if report.message:
        body.append(f'<p id="message">{html.escape(report.message)}</p>')
    for plot_id, caption, svg in _plots(report) if report.cases else []:
        body.append(f'<figure id="{plot_id}"><figcaption>{html.escape(caption)}</figcaption>{svg}</figure>')
    by_family: dict[str, list[Figure]] = {}
    for f in report.figures:
        by_family.setdefault(f.family, []).append(f)
    for family, title_, pct in (("business", "Business", True), ("rules", "Rule hit rates", True),
                                ("vendors", "Vendors", True), ("model", "Model", False),
                                ("features", "Features (PSI)", False), ("data", "Data (share missing)", True)):  # fmt: skip
        body.append(_table(title_, by_family.get(family, []), pct, f"table-{family}"))
    body.append(_csi(report.figures))
    body.append(_delinquency(report))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def summary_lines(report: MonitorReport) -> list[str]:
    """A one-screen text summary (``lendguard demo`` ends with it)."""
    if report.message:
        return [report.message]
    lines = [
        f"monitor {report.first_day}..{report.last_day}: {report.cases} cases, window {report.window_cases}"
    ]
    rates = {
        f.name: f for f in report.figures if f.family == "business" and f.arm is None and ":" not in f.name
    }
    lines.append("  " + "  ".join(f"{k}: {_fmt(v.value, True)}" for k, v in rates.items()))
    flagged = report.flagged()
    lines.append(f"  flagged: {len(flagged)}" + ("" if flagged else " (nothing)"))
    by_family = [
        f"{k} {c['alarm']} alarm {c['warn']} warn" for k, c in report.flag_counts().items() if sum(c.values())
    ]
    if by_family:
        lines.append("  " + ", ".join(by_family))
    for f in sorted(flagged, key=lambda f: (f.severity != "alarm", f.family, f.name))[:8]:
        lines.append(f"   {f.severity:5} {f.family:8} {f.name} = {_fmt(f.value)}")
    return lines
