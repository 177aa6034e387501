"""Book rules over a whole shard at once, and the per-account trace as an Arrow column.

Each rule is compiled once (the policy's own :class:`~lendguard.policy.expr.CompiledExpression`)
and evaluated on the shard's columns (``hit_arrays``: numpy and pyarrow, no pandas), the same
semantics as the pre-loan rules. The trace of every account lists every rule, as the pre-loan
trace does: its id, section, action, parameters, the values it observed and its outcome
(``hit``, ``no_hit``, ``missing``, ``disabled``).

The trace is a ``struct`` column, never text built row by row, laid out for a cheap Parquet write
(:class:`Trace`): one flat level of columns holding only what varies by account (the observed
values, each fact once however many rules read it, string facts dictionary-encoded; the outcomes
as a dictionary column; the scores), while everything that is the same for every account (rule
ids, sections, actions, parameters, the model, the job and date) lives once in the layout, a
JSON document kept in the struct's field metadata, which Parquet keeps. :func:`trace_of` renders
one account's trace as the JSON object (rules as a list, in policy order) when someone reads it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lendguard.policy.schema import OnMissing, Rule

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

_LAYOUT = b"trace_layout"
_OUTCOMES = ("hit", "no_hit", "missing", "disabled")
Node = dict[str, Any]
"""A piece of the trace layout: ``{"const": value}``, ``{"col": name}`` (a column of the trace
struct), ``{"obj": [[key, node], ...]}`` or ``{"list": [node, ...]}``."""


def const(value: Any) -> Node:
    """A value (JSON) the same for every account: stored once, in the layout."""
    return {"const": value}


def obj(items: Sequence[tuple[str, Node]]) -> Node:
    """A JSON object of ``(key, node)`` items, in order."""
    return {"obj": [[key, node] for key, node in items]}


class Trace:
    """One shard's trace column: columns registered once, and the layout that renders them."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._columns: dict[str, pa.Array] = {}
        self.facts: dict[str, Any] = {}
        """The rules' classified fact columns, shared by every rule evaluated into this trace."""

    def col(self, name: str, values: Any) -> Node:
        """A per-account value: ``values`` (numpy or Arrow) stored as the column ``name``, once
        (a second call with the same name refers to the first column: one column per fact)."""
        if name not in self._columns:
            self._columns[name] = _arrow(values)
        return {"col": name}

    def outcome(self, name: str, index: np.ndarray) -> Node:
        """A per-account outcome (``index`` into ``hit``/``no_hit``/``missing``/``disabled``)."""
        import pyarrow as pa

        outcomes = pa.array(_OUTCOMES, pa.string())
        return self.col(name, pa.DictionaryArray.from_arrays(pa.array(index.astype("int8")), outcomes))

    def build(self, root: Node) -> pa.StructArray:
        """The trace column: the registered columns, the layout of ``root`` in the metadata."""
        import numpy as np
        import pyarrow as pa

        columns = dict(self._columns)
        if not columns:  # Parquet has no struct without fields: one placeholder column
            columns["_"] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(self.n, np.int8)), pa.array([""]))
        layout = json.dumps(root, separators=(",", ":")).encode()
        fields = [
            pa.field(name, array.type, metadata={_LAYOUT: layout} if k == 0 else None)
            for k, (name, array) in enumerate(columns.items())
        ]
        return pa.StructArray.from_arrays(list(columns.values()), fields=fields)


def _arrow(values: Any) -> pa.Array:
    """An Arrow array of ``values`` (numpy or Arrow; chunks combined, NaN stays NaN); strings are
    dictionary-encoded (a few distinct values per shard, cheap to write)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = pc.dictionary_encode(values)
    return values


@dataclass
class RuleHits:
    """The rules of one section evaluated on a shard: ``hits[:, j]`` for ``rules[j]``."""

    rules: list[Rule]
    hits: np.ndarray  # bool, rows x rules (disabled rules never hit)
    traces: list[Node]  # per rule: its trace item (layout over the trace's columns)


def constant(value: str, n: int) -> pa.DictionaryArray:
    """``value`` on each of ``n`` rows, stored once (a one-entry dictionary)."""
    import numpy as np
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)), pa.array([value], pa.string()))


def column(values: Any) -> pa.Array:
    """An Arrow array of ``values`` (numpy or Arrow; a chunked column is combined, NaN stays NaN)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):  # one chunk (a Parquet read): no copy
        return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(values)


def evaluate(
    rules: Sequence[Rule], columns: Mapping[str, Any], n: int, section: str, trace: Trace
) -> RuleHits:
    """Evaluate ``rules`` on ``n`` rows of ``columns`` (fact name -> numpy / pyarrow column); each
    rule's trace item goes to ``trace`` (its observed facts as columns, each fact once)."""
    import numpy as np
    import pyarrow as pa

    hits = np.zeros((n, len(rules)), dtype=bool)
    traces: list[Node] = []
    for j, rule in enumerate(rules):
        head = [("rule_id", const(rule.id)), ("section", const(section)), ("action", const(str(rule.action))),
                ("params", const(rule.params))]  # fmt: skip
        if not rule.enabled:
            traces.append(obj([*head, ("observed", const({})), ("outcome", const("disabled"))]))
            continue
        hit, missing = rule.compiled.hit_arrays(columns, n, trace.facts)
        if rule.on_missing is OnMissing.HIT:
            hit = hit | missing
        hits[:, j] = hit
        observed = [
            (fact, trace.col(fact, columns[fact] if fact in columns else pa.nulls(n)))
            for fact in sorted(rule.compiled.facts)
        ]
        index = np.where(hit, 0, np.where(missing, 2, 1))
        outcome = trace.outcome(f"{section}/{rule.id}", index)
        traces.append(obj([*head, ("observed", obj(observed)), ("outcome", outcome)]))
    return RuleHits(rules=list(rules), hits=hits, traces=traces)


def list_column(mask: np.ndarray, labels: Sequence[str]) -> pa.Array:
    """A list of strings per row: ``labels[j]`` for every ``mask[row, j]`` (in label order), the
    strings dictionary-encoded."""
    import numpy as np
    import pyarrow as pa

    n, k = mask.shape
    # the set cells of the row-major mask, row by row: 1-D flatnonzero is ~8x np.nonzero on 2-D
    flat = np.flatnonzero(mask)
    rows, cols = np.divmod(flat, k) if k else (flat, flat)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    # The labels once, each row's items as indices into them: no Python string per item.
    values = pa.DictionaryArray.from_arrays(
        pa.array(cols.astype(np.int32)), pa.array(list(labels), pa.string())
    )
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def trace_of(trace: pa.Array | pa.ChunkedArray, row: int) -> dict[str, Any]:
    """Account ``row``'s trace (a ``trace`` column of a job's output) as its JSON object: the rules
    as a list in policy order, constants from the layout, NaN and infinities as ``None``."""
    layout = json.loads(trace.type.field(0).metadata[_LAYOUT])
    rendered: dict[str, Any] = _render(layout, trace[row].as_py())
    return rendered


def _render(node: Node, values: dict[str, Any]) -> Any:
    if "const" in node:
        return node["const"]
    if "col" in node:
        value = values[node["col"]]
        return None if isinstance(value, float) and not math.isfinite(value) else value
    if "list" in node:
        return [_render(item, values) for item in node["list"]]
    return {key: _render(item, values) for key, item in node["obj"]}
