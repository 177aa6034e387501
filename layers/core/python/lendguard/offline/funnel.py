"""The vendor cost funnel: what each vendor group costs, how often it rejects, and the best order.

Groups run in the policy's order and a group's rules can reject before the next group is paid.
From case records (or a backtest's decision states) this measures, per group:

- **reach**: applications that got to the group;
- **reject rate**: of those, the share its rules rejected (the flow stopped there);
- **spend**: what its vendors cost, and the mean cost per application reached.

With mean cost ``c_g`` and reject rate ``r_g``, an order ``g1, g2, ...`` is expected to cost,
per application entering the vendor stage::

    E = c_g1 + (1 - r_g1)·c_g2 + (1 - r_g1)(1 - r_g2)·c_g3 + ...

Without constraints, ascending ``c/r`` is optimal (exchange argument: ``a`` before ``b`` iff
``c_a·r_b <= c_b·r_a``). Rules may read facts of earlier groups' vendors, which constrains the
order, so :func:`optimal_order` is an exact dynamic programme over subsets that honours such
precedences (``2^n·n`` steps; policies have a handful of groups).

Assumptions, stated because they bound what the saving means: reject rates and costs are
measured under the current order and treated as independent of position (a group that rejects
the same applicants as an earlier one will look better moved first than it is), and per-hit
vendors are priced at their observed hit rate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_GROUPS = 16
_LIST_KEYS = ("cases", "records", "results", "states", "items")


class FunnelError(ValueError):
    """Input the funnel report cannot use (the message says which record or field)."""


@dataclass
class GroupStats:
    """One vendor group as observed."""

    group: str
    vendors: list[str]
    reach: int = 0
    rejects: int = 0
    spend: float = 0.0

    @property
    def reject_rate(self) -> float:
        return self.rejects / self.reach if self.reach else 0.0

    @property
    def cost_per_reach(self) -> float:
        return self.spend / self.reach if self.reach else 0.0


@dataclass
class FunnelReport:
    """The funnel of a set of applications, and what the best order would have spent."""

    applications: int
    entered: int  # applications that reached the first vendor group
    groups: list[GroupStats]  # in the current order
    spend: float
    spend_per_1000: float
    expected_per_1000: float  # the model's figure for the current order (checks the model)
    optimal_order: list[str]
    optimal_per_1000: float
    precedence: dict[str, list[str]] = field(default_factory=dict)

    @property
    def current_order(self) -> list[str]:
        return [g.group for g in self.groups]

    @property
    def saving_per_1000(self) -> float:
        return self.expected_per_1000 - self.optimal_per_1000

    @property
    def saving_share(self) -> float:
        return self.saving_per_1000 / self.expected_per_1000 if self.expected_per_1000 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "applications": self.applications,
            "entered_vendor_stage": self.entered,
            "groups": [
                {**asdict(g), "reject_rate": g.reject_rate, "cost_per_reach": g.cost_per_reach}
                for g in self.groups
            ],
            "spend": round(self.spend, 6),
            "spend_per_1000": round(self.spend_per_1000, 4),
            "current_order": self.current_order,
            "expected_per_1000": round(self.expected_per_1000, 4),
            "optimal_order": self.optimal_order,
            "optimal_per_1000": round(self.optimal_per_1000, 4),
            "saving_per_1000": round(self.saving_per_1000, 4),
            "saving_share": round(self.saving_share, 6),
            "precedence": self.precedence,
        }


# -- input ------------------------------------------------------------------------------------
def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Case records or decision states from a JSON array, a JSON object holding one, or JSONL."""
    path = Path(path)
    text = path.read_text()
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    data.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise FunnelError(f"{path}:{number}: not JSON: {exc.msg}") from None
    return records_from(data, str(path))


def records_from(data: Any, source: str = "<input>") -> list[dict[str, Any]]:
    """The records inside a parsed document: a list, or an object with ``cases``/``results``/…"""
    if isinstance(data, Mapping):
        if "trace" in data:
            data = [data]
        else:
            key = next((k for k in _LIST_KEYS if isinstance(data.get(k), list)), None)
            if key is None:
                raise FunnelError(
                    f"{source}: expected a list of case records or an object with one of {list(_LIST_KEYS)}"
                )
            data = data[key]
    if not isinstance(data, list):
        raise FunnelError(f"{source}: expected a list of case records")
    for i, record in enumerate(data):
        if not isinstance(record, Mapping):
            raise FunnelError(f"{source}: record {i} is not an object")
        trace = record.get("trace")
        if trace is not None and not isinstance(trace, Mapping):
            raise FunnelError(f"{source}: record {i}: 'trace' must be an object")
    return list(data)


# -- measurement ------------------------------------------------------------------------------
def _groups_in(record: Mapping[str, Any]) -> list[str]:
    """The vendor groups a record reached, in the order it reached them."""
    trace = record.get("trace") or {}
    seen: list[str] = []
    for call in trace.get("vendors") or []:
        group = call.get("group")
        if group and group not in seen:
            seen.append(group)
    for rule in trace.get("rules") or []:
        stage = str(rule.get("stage") or "")
        if stage.startswith("vendor:") and stage[7:] not in seen:
            seen.append(stage[7:])
    return seen


def measure(records: Sequence[Mapping[str, Any]], order: Sequence[str] | None = None) -> list[GroupStats]:
    """Reach, rejects and spend per group, in ``order`` (else the order observed in the traces)."""
    position: dict[str, int] = {}
    vendors: dict[str, list[str]] = {}
    stats: dict[str, GroupStats] = {}
    for record in records:
        groups = _groups_in(record)
        for index, group in enumerate(groups):
            # A record reaches group k only after passing the k groups before it, so the largest
            # position seen is the group's place in the order.
            position[group] = max(position.get(group, 0), index)
            stats.setdefault(group, GroupStats(group, []))
            stats[group].reach += 1
        for call in (record.get("trace") or {}).get("vendors") or []:
            group, vendor = call.get("group"), call.get("vendor")
            if group in stats:
                stats[group].spend += float(call.get("cost") or 0.0)
                if vendor and vendor not in vendors.setdefault(group, []):
                    vendors[group].append(vendor)
        halted = str(record.get("halted_at") or "")
        if halted.startswith("vendor:") and halted[7:] in stats:
            stats[halted[7:]].rejects += 1
    for group, found in vendors.items():
        stats[group].vendors = found
    if order is None:
        order = sorted(stats, key=lambda g: (position[g], g))
    else:
        unknown = sorted(set(stats) - set(order))
        if unknown:
            raise FunnelError(f"the records have vendor groups the policy does not: {unknown}")
    return [stats.get(g) or GroupStats(g, []) for g in order]


# -- optimisation -----------------------------------------------------------------------------
def expected_spend(order: Sequence[int], costs: Sequence[float], reject_rates: Sequence[float]) -> float:
    """Expected spend per application entering the first group, for groups in ``order``."""
    total, passing = 0.0, 1.0
    for i in order:
        total += passing * costs[i]
        passing *= 1.0 - reject_rates[i]
    return total


def optimal_order(
    costs: Sequence[float],
    reject_rates: Sequence[float],
    before: Mapping[int, Iterable[int]] | None = None,
) -> list[int]:
    """The order of groups ``0..n-1`` with the least expected spend.

    ``before[j]`` lists the groups that must come before ``j``. Exact: the pass probability in
    front of a group depends only on the *set* of groups before it, so the best cost of
    sequencing a set is a function of the set alone (dynamic programme over subsets).
    """
    n = len(costs)
    if len(reject_rates) != n:
        raise ValueError("costs and reject_rates must have the same length")
    if n > MAX_GROUPS:
        raise ValueError(f"at most {MAX_GROUPS} groups can be ordered exactly; got {n}")
    for i in range(n):
        if costs[i] < 0 or not 0.0 <= reject_rates[i] <= 1.0:
            raise ValueError(f"group {i}: cost must be >= 0 and reject rate in [0, 1]")
    need = [0] * n
    for j, firsts in (before or {}).items():
        for i in firsts:
            need[j] |= 1 << i
    full = (1 << n) - 1
    inf = float("inf")
    best = [inf] * (1 << n)
    passing = [1.0] * (1 << n)
    choice = [-1] * (1 << n)
    best[0] = 0.0
    for subset in range(1 << n):
        if best[subset] == inf:
            continue
        for i in range(n):
            bit = 1 << i
            if subset & bit or need[i] & ~subset:
                continue
            nxt = subset | bit
            passing[nxt] = passing[subset] * (1.0 - reject_rates[i])
            cost = best[subset] + passing[subset] * costs[i]
            if cost < best[nxt]:
                best[nxt], choice[nxt] = cost, i
    if best[full] == inf:
        raise ValueError("the precedence constraints are cyclic: no order satisfies them")
    order: list[int] = []
    subset = full
    while subset:
        i = choice[subset]
        order.append(i)
        subset &= ~(1 << i)
    return order[::-1]


def policy_precedence(policy: Any) -> dict[str, list[str]]:
    """Group → groups that must precede it, because its rules read their vendors' facts (and an
    ``after_model`` group follows every group called before the model)."""
    from lendguard.core.vendor_responses import response_facts

    produces = {
        g.id: {f for v in g.vendors for f in response_facts(v, policy.vendor_by_id[v].service)}
        for g in policy.vendor_groups
    }
    out: dict[str, list[str]] = {}
    before = sorted(g.id for g in policy.groups_before_model)
    for group in policy.vendor_groups:
        reads = {fact for rule in group.rules for fact in rule.compiled.facts}
        firsts = {other for other, facts in produces.items() if other != group.id and reads & facts}
        if group.after_model:
            # Called by the Decision stage: after every group ExternalData calls, whatever the costs.
            firsts |= set(before)
        if firsts:
            out[group.id] = sorted(firsts)
    return out


def report(records: Sequence[Mapping[str, Any]], policy: Any | None = None) -> FunnelReport:
    """The funnel of ``records``; with ``policy``, its group order and fact dependencies apply."""
    if not records:
        raise FunnelError("no case records to report on")
    order = (
        [g.id for g in (*policy.groups_before_model, *policy.groups_after_model)]
        if policy is not None
        else None
    )
    groups = measure(records, order)
    precedence = policy_precedence(policy) if policy is not None else {}
    n = len(records)
    entered = groups[0].reach if groups else 0
    spend = sum(g.spend for g in groups)
    costs = [g.cost_per_reach for g in groups]
    rates = [g.reject_rate for g in groups]
    index = {g.group: i for i, g in enumerate(groups)}
    before = {index[g]: [index[f] for f in firsts] for g, firsts in precedence.items() if g in index}
    current = list(range(len(groups)))
    best = optimal_order(costs, rates, before) if groups else []
    scale = 1000 * entered / n
    expected = expected_spend(current, costs, rates) * scale
    optimal = expected_spend(best, costs, rates) * scale
    if optimal >= expected - 1e-9 * max(1.0, expected):
        best, optimal = current, expected  # no real saving: keep the order the analyst chose
    return FunnelReport(
        applications=n,
        entered=entered,
        groups=groups,
        spend=spend,
        spend_per_1000=1000 * spend / n,
        expected_per_1000=expected,
        optimal_order=[groups[i].group for i in best],
        optimal_per_1000=optimal,
        precedence=precedence,
    )
