"""Vendor spend per 1,000 applications: the policy's order, the optimal order, every vendor.

On the same seeded synthetic applications (``lendguard.offline.synthetic``), in process with the
simulated vendors and no AWS, it runs the stages that decide what is paid (validate, admission,
lists, external data) and prints spend per 1,000 applications for:

* the policy's group order (the cost funnel as configured),
* the order ``lendguard.offline.funnel`` finds cheapest from that run's reject rates and costs,
  re-run for real on the same applications (measured, not just predicted),
* the policy's order reversed (what a careless order costs),
* calling every vendor for every application (no funnel at all), and for every application
  that passed admission and lists.

Run: ``.venv/bin/python bench/vendors.py [N] [SEED]`` (defaults 5000, 7). Plain text, exit 0.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import yaml

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import MemoryArchive, MemoryLists
from lendguard.decision.stages import admission, external_data, lists, validate
from lendguard.decision.state import DecisionState
from lendguard.offline.funnel import report
from lendguard.offline.project import default_policy_path
from lendguard.offline.synthetic import synthetic_applications
from lendguard.policy.loader import load_policy_data
from lendguard.policy.schema import Policy, Pricing
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.simulated import simulate

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def run_vendor_stages(policy: Policy, applications: list) -> list[DecisionState]:
    """Every application up to the end of the vendor stage (or its first reject)."""
    registry, archive, lookup = ProviderRegistry(), MemoryArchive(), MemoryLists()
    states = []
    for i, app in enumerate(applications):
        state = validate.open_case(app, policy, f"B{i:07d}", NOW, LOCAL_SECRET)
        for step in (
            lambda s: admission.run(s, policy),
            lambda s: lists.run(s, policy, lookup, NOW),
            lambda s: external_data.run(s, policy, registry, archive),
        ):
            state = step(state)
            if state.halted:
                break
        states.append(state)
    return states


def reordered(data: dict, order: list[str]) -> Policy:
    """The policy with its vendor groups in ``order`` (validated again: facts must still be available)."""
    groups = {g["id"]: g for g in data["vendor_groups"]}
    return load_policy_data({**data, "vendor_groups": [groups[g] for g in order]})


def every_vendor_spend(policy: Policy, states: list[DecisionState]) -> float:
    """What calling every vendor for each of ``states`` would cost (per-hit vendors at their hits)."""
    total = 0.0
    for state in states:
        for vendor in policy.vendors:
            if (
                vendor.pricing is Pricing.PER_QUERY
                or simulate(vendor.service, state.subject.id_number).is_hit()
            ):
                total += vendor.cost
    return total


def main(n: int = 5000, seed: int = 7) -> None:
    data = yaml.safe_load((default_policy_path()).read_text())
    policy = load_policy_data(data)
    applications = [parse_application(raw, policy.products) for raw in synthetic_applications(n, seed)]

    started = time.perf_counter()
    states = run_vendor_stages(policy, applications)
    elapsed = time.perf_counter() - started
    records = [s.model_dump(mode="json") for s in states]
    funnel = report(records, policy)

    def per_1000(spend: float) -> float:
        return 1000 * spend / n

    policy_spend = per_1000(sum(s.vendor_cost for s in states))
    best = reordered(data, funnel.optimal_order)
    optimal_spend = per_1000(sum(s.vendor_cost for s in run_vendor_stages(best, applications)))
    reverse_order = list(reversed(funnel.current_order))
    reverse_spend = per_1000(
        sum(s.vendor_cost for s in run_vendor_stages(reordered(data, reverse_order), applications))
    )
    everyone = per_1000(every_vendor_spend(policy, states))
    passed_lists = [s for s in states if not (s.halted and s.halted_at in ("admission", "lists"))]
    after_lists = per_1000(every_vendor_spend(policy, passed_lists))

    print(
        f"vendor spend on {n:,} synthetic applications (seed {seed}), {policy.currency} per 1,000 applications"
    )
    print(f"{'group':<12}{'reach':>8}{'reject rate':>13}{'spend':>11}{'cost/reached':>14}")
    for g in funnel.groups:
        print(f"{g.group:<12}{g.reach:>8,}{g.reject_rate:>13.2%}{g.spend:>11,.2f}{g.cost_per_reach:>14.3f}")
    print()
    rows = [
        (f"policy order ({' > '.join(funnel.current_order)})", policy_spend),
        (f"optimal order ({' > '.join(funnel.optimal_order)}), re-run", optimal_spend),
        ("  optimal order as the funnel model predicts it", funnel.optimal_per_1000),
        (f"reversed order ({' > '.join(reverse_order)})", reverse_spend),
        ("every vendor, every application", everyone),
        ("every vendor, every application past admission and lists", after_lists),
    ]
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label:<{width}}{value:>10,.2f}   ratio to policy order {value / policy_spend:.3f}")
    print()
    print(f"funnel saves {1 - policy_spend / everyone:.1%} against calling every vendor for every application, "
          f"{1 - policy_spend / after_lists:.1%} against every vendor after admission and lists")  # fmt: skip
    print(f"vendor stages ran at {n / elapsed:,.0f} applications/s in process ({elapsed:.2f} s)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
