"""The backtest report: derived from merged aggregates, as JSON, a self-contained HTML page and a summary.

Definitions (all from the exact counts of :mod:`.aggregates`):

* rates are shares of all rows in the data unless said otherwise; vendor spend per 1,000 is
  ``1000 × spend / rows``;
* per rule, over the rows it was evaluated on (reached its stage, enabled, not skipped for a
  white-listed applicant): hit rate = hits / evaluated; unique rejects = rows it rejected and no
  other rule did; with labels, precision = bad rate of its hits, recall = its bad hits / all bad
  rows it was evaluated on, lift = precision / the bad rate of the rows it was evaluated on;
* score quality uses the final points (higher = lower risk) of every scored row: AUC is the
  chance that a good row scores above a bad one (ties count half), Gini = 2·AUC − 1, KS the
  largest gap between the cumulative score distributions of bad and good rows;
* the cut-off curve shows, for an approval cut-off c, the share of all rows scored at or above
  c and the bad rate among them.
"""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.offline.backtest.aggregates import Aggregates, Counts
from lendguard.offline.backtest.compare import SwapAggregates
from lendguard.offline.backtest.evaluator import DECISIONS
from lendguard.policy.schema import Policy


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


class Outcome(Model):
    decision: str
    n: int
    rate: float | None
    bad_rate: float | None = None


class StageRow(Model):
    stage: str
    reached: int
    rejected: int
    reject_rate: float | None = Field(description="rejected / reached")


class VendorRow(Model):
    vendor_id: str
    group: str
    reached: int
    billed: int
    spend: float
    spend_per_1000: float | None


class RuleRow(Model):
    rule_id: str
    stage: str
    action: str
    enabled: bool
    evaluated: int
    hits: int
    hit_rate: float | None
    missing: int
    fired: int
    unique_rejects: int
    unique_reject_rate: float | None
    bad_rate: float | None = Field(default=None, description="bad rate of the rows it hit (= precision)")
    precision: float | None = None
    recall: float | None = None
    lift: float | None = None


class Band(Model):
    label: str
    lower: float | None
    upper: float | None
    n: int
    bad: int
    bad_rate: float | None


class CurvePoint(Model):
    cutoff: float
    approval_rate: float | None
    bad_rate: float | None


class ScoreQuality(Model):
    scored: int
    bad: int
    ks: float | None
    auc: float | None
    gini: float | None


class SwapRow(Model):
    n: int
    rate: float | None
    bad_rate: float | None
    examples: list[str]


class Comparison(Model):
    policy: dict[str, Any]
    outcomes: list[Outcome]
    outcome_differences: dict[str, int]
    matrix: dict[str, dict[str, int]]
    swap_out: SwapRow = Field(
        description="accepted (APPROVE/REVIEW) by the base policy, rejected by the other"
    )
    swap_in: SwapRow = Field(description="rejected by the base policy, accepted by the other")
    rules: list[dict[str, Any]] = Field(description="per rule: hit rates and unique rejects in both")
    spend_per_1000: float | None


class BacktestReport(Model):
    """Everything the backtest found, for machines (JSON) and the page and summary built from it."""

    generated_at: datetime
    policy: dict[str, Any]
    data: dict[str, Any]
    rows: int
    labelled: bool
    outcomes: list[Outcome]
    funnel: list[StageRow]
    vendors: list[VendorRow]
    spend_per_1000: float | None
    average_limit: float | None
    average_apr: float | None
    rules: list[RuleRow]
    score: ScoreQuality | None
    score_bands: list[Band]
    curve: list[CurvePoint]
    score_histogram: list[tuple[float, int, int]] = Field(
        description="[points, rows, bad rows] per 10 points"
    )
    comparison: Comparison | None = None
    aggregates: Aggregates = Field(description="The exact counts everything above is derived from")


def _outcomes(agg: Aggregates) -> list[Outcome]:
    return [
        Outcome(
            decision=d,
            n=agg.decisions[d].n,
            rate=_rate(agg.decisions[d].n, agg.rows),
            bad_rate=_rate(agg.decisions[d].bad, agg.decisions[d].labelled) if agg.labelled else None,
        )
        for d in DECISIONS
    ]


def _rules(agg: Aggregates) -> list[RuleRow]:
    rows = []
    for r in agg.rules:
        row = RuleRow(
            rule_id=r.rule_id, stage=r.stage, action=r.action, enabled=r.enabled, evaluated=r.evaluated.n,
            hits=r.hit.n, hit_rate=_rate(r.hit.n, r.evaluated.n), missing=r.missing.n, fired=r.fired.n,
            unique_rejects=r.unique_reject.n, unique_reject_rate=_rate(r.unique_reject.n, r.evaluated.n),
        )  # fmt: skip
        if agg.labelled:
            precision = _rate(r.hit.bad, r.hit.labelled)
            base = _rate(r.evaluated.bad, r.evaluated.labelled)
            row.bad_rate = row.precision = precision
            row.recall = _rate(r.hit.bad, r.evaluated.bad)
            row.lift = None if precision is None or not base else precision / base
        rows.append(row)
    return rows


def score_quality(hist: dict[int, tuple[int, int]]) -> ScoreQuality:
    """KS, AUC and Gini from a histogram of hundredths of a point → (rows, bad rows)."""
    bad_total = sum(b for _, b in hist.values())
    n_total = sum(n for n, _ in hist.values())
    good_total = n_total - bad_total
    if not bad_total or not good_total:
        return ScoreQuality(scored=n_total, bad=bad_total, ks=None, auc=None, gini=None)
    bads_below = goods_below = 0
    concordant = 0.0
    ks = 0.0
    for key in sorted(hist):
        n, bad = hist[key]
        good = n - bad
        # a good row above a bad one is concordant (higher points = lower risk); ties count half
        concordant += good * (bads_below + 0.5 * bad)
        bads_below += bad
        goods_below += good
        ks = max(ks, abs(bads_below / bad_total - goods_below / good_total))
    auc = concordant / (bad_total * good_total)
    return ScoreQuality(scored=n_total, bad=bad_total, ks=ks, auc=auc, gini=2 * auc - 1)


def _bands(policy: Policy, hist: dict[int, tuple[int, int]], labelled: bool) -> list[Band]:
    edges = list(policy.limits.score_bands)
    bounds = [(None, edges[0]), *zip(edges, [*edges[1:], None], strict=True)]
    out = []
    for lower, upper in bounds:
        n = bad = 0
        for key, (k_n, k_bad) in hist.items():
            points = key / 100
            if (lower is None or points >= lower) and (upper is None or points < upper):
                n += k_n
                bad += k_bad
        label = (
            f"< {upper:g}" if lower is None else f">= {lower:g}" if upper is None else f"{lower:g}-{upper:g}"
        )
        out.append(
            Band(
                label=label,
                lower=lower,
                upper=upper,
                n=n,
                bad=bad,
                bad_rate=_rate(bad, n) if labelled else None,
            )
        )
    return out


def _curve(agg: Aggregates, policy: Policy) -> list[CurvePoint]:
    hist = agg.score_hist
    if not hist:
        return []
    keys = sorted(hist)
    lo, hi = int(keys[0] // 500 * 5), int(keys[-1] // 500 * 5 + 5)
    cutoffs = sorted({*range(lo, hi + 1, 5), policy.cutoffs.review_min, policy.cutoffs.approve_min})
    out = []
    for c in cutoffs:
        n = bad = 0
        for key in keys:
            if key >= c * 100:
                n += hist[key][0]
                bad += hist[key][1]
        out.append(
            CurvePoint(
                cutoff=float(c),
                approval_rate=_rate(n, agg.rows),
                bad_rate=_rate(bad, n) if agg.labelled else None,
            )
        )
    return out


def _histogram(hist: dict[int, tuple[int, int]]) -> list[tuple[float, int, int]]:
    bins: dict[int, list[int]] = {}
    for key, (n, bad) in hist.items():
        b = bins.setdefault(key // 1000, [0, 0])
        b[0] += n
        b[1] += bad
    return [(k * 10.0, n, bad) for k, (n, bad) in sorted(bins.items())]


def build_report(
    policy: Policy,
    agg: Aggregates,
    data: dict[str, Any],
    other: tuple[Policy, Aggregates, SwapAggregates] | None = None,
) -> BacktestReport:
    """The report of ``agg`` (and of the comparison with ``other``'s policy on the same rows)."""
    approved = agg.decisions["APPROVE"].n
    spend = agg.spend()
    report = BacktestReport(
        generated_at=datetime.now(UTC),
        policy=policy.ref,
        data=data,
        rows=agg.rows,
        labelled=agg.labelled,
        outcomes=_outcomes(agg),
        funnel=[
            StageRow(
                stage=s.stage,
                reached=s.reached,
                rejected=s.rejected,
                reject_rate=_rate(s.rejected, s.reached),
            )
            for s in agg.stages
        ],
        vendors=[
            VendorRow(
                vendor_id=v.vendor_id,
                group=v.group,
                reached=v.reached,
                billed=v.billed,
                spend=round(v.billed * v.unit_cost, 6),
                spend_per_1000=None if not agg.rows else 1000 * v.billed * v.unit_cost / agg.rows,
            )
            for v in agg.vendors
        ],
        spend_per_1000=None if not agg.rows else 1000 * spend / agg.rows,
        average_limit=None if not approved else agg.limit_cents / 100 / approved,
        average_apr=None if not approved else agg.apr_millionths / 1e6 / approved,
        rules=_rules(agg),
        score=score_quality(agg.score_hist) if agg.labelled else None,
        score_bands=_bands(policy, agg.score_hist, agg.labelled),
        curve=_curve(agg, policy),
        score_histogram=_histogram(agg.score_hist),
        aggregates=agg,
    )
    if other is not None:
        report.comparison = _comparison(agg, *other)
    return report


def _comparison(base: Aggregates, policy: Policy, agg: Aggregates, swaps: SwapAggregates) -> Comparison:
    base_rules = {r.rule_id: r for r in base.rules}
    other_rules = {r.rule_id: r for r in agg.rules}
    rules = []
    for rule_id in [*base_rules, *(r for r in other_rules if r not in base_rules)]:
        a, b = base_rules.get(rule_id), other_rules.get(rule_id)
        rate_a = None if a is None else _rate(a.hit.n, a.evaluated.n)
        rate_b = None if b is None else _rate(b.hit.n, b.evaluated.n)
        rules.append({
            "rule_id": rule_id,
            "hits": [None if a is None else a.hit.n, None if b is None else b.hit.n],
            "hit_rate": [rate_a, rate_b],
            "unique_rejects": [None if a is None else a.unique_reject.n, None if b is None else b.unique_reject.n],
            "enabled": [None if a is None else a.enabled, None if b is None else b.enabled],
        })  # fmt: skip

    def swap(s: Any) -> SwapRow:
        c: Counts = s.counts
        return SwapRow(
            n=c.n,
            rate=_rate(c.n, base.rows),
            bad_rate=_rate(c.bad, c.labelled) if base.labelled else None,
            examples=s.examples,
        )

    return Comparison(
        policy=policy.ref,
        outcomes=_outcomes(agg),
        outcome_differences={d: agg.decisions[d].n - base.decisions[d].n for d in DECISIONS},
        matrix={a: {b: swaps.matrix[a][b].n for b in DECISIONS} for a in DECISIONS},
        swap_out=swap(swaps.swap_out),
        swap_in=swap(swaps.swap_in),
        rules=rules,
        spend_per_1000=None if not agg.rows else 1000 * agg.spend() / agg.rows,
    )


# ------------------------------------------------------------------------------------------- HTML


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _plots(report: BacktestReport) -> list[tuple[str, str, str]]:
    """(id, title, inline SVG) of every plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller pages
    plots = []
    colours = {"APPROVE": "#2e7d32", "REVIEW": "#f9a825", "REJECT": "#c62828"}

    fig, ax = plt.subplots(figsize=(6, 3))
    names = [o.decision for o in report.outcomes]
    if report.comparison is None:
        ax.bar(names, [o.n for o in report.outcomes], color=[colours[n] for n in names])
    else:
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], [o.n for o in report.outcomes], width=0.4, label=_name(report.policy))
        ax.bar([x + 0.2 for x in xs], [o.n for o in report.comparison.outcomes], width=0.4,
               label=_name(report.comparison.policy))  # fmt: skip
        ax.set_xticks(list(xs), names)
        ax.legend()
    ax.set_ylabel("applications")
    plots.append(("plot-outcomes", "Outcomes", _svg(fig)))

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(
        [s.stage for s in report.funnel], [s.reached for s in report.funnel], color="#1565c0", label="reached"
    )
    ax.bar(
        [s.stage for s in report.funnel],
        [s.rejected for s in report.funnel],
        color="#c62828",
        label="rejected",
    )
    ax.tick_params(axis="x", rotation=30)
    ax.legend()
    plots.append(("plot-funnel", "Funnel by stage", _svg(fig)))

    if report.score_histogram:
        fig, ax = plt.subplots(figsize=(7, 3))
        xs = [p for p, _, _ in report.score_histogram]
        if report.labelled:
            ax.bar(xs, [n - b for _, n, b in report.score_histogram], width=9, color="#2e7d32", label="good")
            ax.bar(xs, [b for _, _, b in report.score_histogram], width=9, color="#c62828", label="bad",
                   bottom=[n - b for _, n, b in report.score_histogram])  # fmt: skip
            ax.legend()
        else:
            ax.bar(xs, [n for _, n, _ in report.score_histogram], width=9, color="#1565c0")
        ax.set_xlabel("final points")
        ax.set_ylabel("applications")
        plots.append(("plot-scores", "Score distribution", _svg(fig)))

    if report.labelled and report.score_bands:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.bar([b.label for b in report.score_bands], [(b.bad_rate or 0) * 100 for b in report.score_bands],
               color="#6a1b9a")  # fmt: skip
        ax.set_ylabel("bad rate, %")
        ax.set_xlabel("score band")
        plots.append(("plot-bands", "Bad rate by score band", _svg(fig)))

    if report.labelled and report.curve:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        pts = [c for c in report.curve if c.approval_rate is not None and c.bad_rate is not None]
        ax.plot([c.approval_rate * 100 for c in pts], [c.bad_rate * 100 for c in pts], marker=".")  # type: ignore[operator]
        ax.set_xlabel("approval rate (score >= cut-off), %")
        ax.set_ylabel("bad rate of approved, %")
        plots.append(("plot-curve", "Approval rate vs bad rate", _svg(fig)))

    enabled = [r for r in report.rules if r.enabled]
    if enabled:
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(enabled) + 1))
        ax.barh([r.rule_id for r in enabled][::-1], [(r.hit_rate or 0) * 100 for r in enabled][::-1],
                color="#00838f")  # fmt: skip
        ax.set_xlabel("hit rate, % of rows evaluated")
        plots.append(("plot-rules", "Rule hit rates", _svg(fig)))
    return plots


def _name(ref: dict[str, Any]) -> str:
    return f"{ref['id']} v{ref['version']}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _table(headers: list[str], rows: list[list[Any]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top}
figcaption{font-weight:600;font-size:.9rem}svg{max-width:100%;height:auto}
.kpi{display:inline-block;margin-right:2rem}.kpi b{display:block;font-size:1.3rem}
"""


def render_html(report: BacktestReport) -> str:
    """A self-contained page (inline CSS and SVG plots, no script, nothing fetched)."""
    r = report
    kpis = [("rows", f"{r.rows:,}"), *((o.decision.lower(), _pct(o.rate)) for o in r.outcomes),
            ("vendor spend / 1,000", _num(r.spend_per_1000)), ("average limit", _num(r.average_limit)),
            ("average APR", _pct(r.average_apr))]  # fmt: skip
    if r.score is not None:
        kpis += [("AUC", _num(r.score.auc, 3)), ("Gini", _num(r.score.gini, 3)), ("KS", _num(r.score.ks, 3))]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Backtest {html.escape(_name(r.policy))}</title><style>{_CSS}</style></head><body>",
        f"<h1>Backtest of policy {html.escape(_name(r.policy))}</h1>",
        f"<p>Data: {html.escape(str(r.data.get('source', '')))}, {r.rows:,} rows"
        f"{', labelled (' + html.escape(str(r.data.get('label'))) + ')' if r.labelled else ', unlabelled'}. "
        f"Generated {r.generated_at:%Y-%m-%d %H:%M:%S} UTC.</p>",
        "<div id='kpis'>" + "".join(f"<span class='kpi'>{html.escape(k)}<b>{html.escape(v)}</b></span>" for k, v in kpis) + "</div>",
        "<h2>Plots</h2>",
    ]  # fmt: skip
    for plot_id, title, svg in _plots(r):
        parts.append(
            f"<figure class='plot' id='{plot_id}'><figcaption>{html.escape(title)}</figcaption>{svg}</figure>"
        )
    parts.append("<h2>Outcomes</h2>")
    parts.append(_table(["decision", "rows", "rate", "bad rate"],
                        [[o.decision, f"{o.n:,}", _pct(o.rate), _pct(o.bad_rate)] for o in r.outcomes], "outcomes"))  # fmt: skip
    parts.append("<h2>Funnel</h2>")
    parts.append(_table(["stage", "reached", "rejected", "reject rate"],
                        [[s.stage, f"{s.reached:,}", f"{s.rejected:,}", _pct(s.reject_rate)] for s in r.funnel], "funnel"))  # fmt: skip
    parts.append("<h2>Vendor spend</h2>")
    parts.append(_table(["vendor", "group", "reached", "billed", "spend", "per 1,000 applications"],
                        [[v.vendor_id, v.group, f"{v.reached:,}", f"{v.billed:,}", _num(v.spend), _num(v.spend_per_1000)]
                         for v in r.vendors], "vendors"))  # fmt: skip
    parts.append("<h2>Rules</h2>")
    parts.append(_table(
        ["rule", "stage", "action", "evaluated", "hits", "hit rate", "missing", "unique rejects",
         "bad rate / precision", "recall", "lift"],
        [[x.rule_id + ("" if x.enabled else " (off)"), x.stage, x.action, f"{x.evaluated:,}", f"{x.hits:,}",
          _pct(x.hit_rate), f"{x.missing:,}", f"{x.unique_rejects:,}", _pct(x.precision), _pct(x.recall),
          _num(x.lift)] for x in r.rules], "rules"))  # fmt: skip
    if r.labelled:
        parts.append("<h2>Score bands</h2>")
        parts.append(_table(["band", "rows", "bad", "bad rate"],
                            [[b.label, f"{b.n:,}", f"{b.bad:,}", _pct(b.bad_rate)] for b in r.score_bands], "bands"))  # fmt: skip
    if r.comparison is not None:
        c = r.comparison
        parts.append(f"<h2>Compared with {html.escape(_name(c.policy))}</h2>")
        parts.append(_table(["", "rows", "rate", "bad rate", "example application ids"],
            [["swap out (accepted, then rejected)", f"{c.swap_out.n:,}", _pct(c.swap_out.rate), _pct(c.swap_out.bad_rate), " ".join(c.swap_out.examples)],
             ["swap in (rejected, then accepted)", f"{c.swap_in.n:,}", _pct(c.swap_in.rate), _pct(c.swap_in.bad_rate), " ".join(c.swap_in.examples)]],
            "swaps"))  # fmt: skip
        parts.append(_table(["decision", _name(r.policy), _name(c.policy), "difference"],
            [[o.decision, f"{o.n:,}", f"{p.n:,}", f"{c.outcome_differences[o.decision]:+,}"]
             for o, p in zip(r.outcomes, c.outcomes, strict=True)], "outcome-differences"))  # fmt: skip
        parts.append(_table(["rule", "hits", "hit rate", "unique rejects"],
            [[x["rule_id"], " → ".join(str(v) for v in x["hits"]), " → ".join(_pct(v) for v in x["hit_rate"]),
              " → ".join(str(v) for v in x["unique_rejects"])] for x in c.rules], "rule-differences"))  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------- terminal


def print_summary(console: Any, report: BacktestReport) -> None:
    """The headline numbers in the terminal (rich)."""
    from rich.table import Table

    r = report
    console.print(f"[bold]Backtest of {_name(r.policy)}[/] on {r.rows:,} rows")
    t = Table("decision", "rows", "rate", "bad rate", title="Outcomes")
    for o in r.outcomes:
        t.add_row(o.decision, f"{o.n:,}", _pct(o.rate), _pct(o.bad_rate))
    console.print(t)
    t = Table("stage", "reached", "rejected", title="Funnel")
    for s in r.funnel:
        t.add_row(s.stage, f"{s.reached:,}", f"{s.rejected:,}")
    console.print(t)
    console.print(f"vendor spend per 1,000 applications: {_num(r.spend_per_1000)}")
    if r.score is not None:
        console.print(
            f"score: AUC {_num(r.score.auc, 3)}, Gini {_num(r.score.gini, 3)}, KS {_num(r.score.ks, 3)}"
        )
    t = Table("rule", "hit rate", "unique rejects", "precision", "lift", title="Rules")
    for x in r.rules:
        t.add_row(x.rule_id, _pct(x.hit_rate), f"{x.unique_rejects:,}", _pct(x.precision), _num(x.lift))
    console.print(t)
    if r.comparison is not None:
        c = r.comparison
        console.print(f"[bold]Compared with {_name(c.policy)}[/]: swap out {c.swap_out.n:,} "
                      f"(bad rate {_pct(c.swap_out.bad_rate)}), swap in {c.swap_in.n:,} "
                      f"(bad rate {_pct(c.swap_in.bad_rate)})")  # fmt: skip
