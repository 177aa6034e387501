"""Book rules over a whole shard at once, and the per-account trace as an Arrow column.

Each rule is compiled once (the policy's own :class:`~lendguard.policy.expr.CompiledExpression`)
and evaluated on the shard's columns (``hit_arrays``: numpy and pyarrow, no pandas), the same
semantics as the pre-loan rules. The trace of every account lists every rule, as the pre-loan
trace does: its id, section, action, parameters, the values it observed and its outcome
(``hit``, ``no_hit``, ``missing``, ``disabled``).

The trace is a ``struct`` column, never text built row by row: the observed values are the
shard's own typed columns (zero copy), the outcomes a dictionary column, and what is the same for
every account (rule ids, parameters, the model) a one-entry dictionary column, so a shard of
100,000 accounts holds each constant once in memory and in Parquet. :func:`trace_of` renders one
account's trace as the JSON object (rules as a list, in policy order) when someone reads it.
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

# Field metadata telling :func:`trace_of` how to render a field: a constant held as JSON text,
# or a struct whose fields are the items of a list (the rules, in order).
_JSON = {b"render": b"json"}
_LIST = {b"render": b"list"}
_OUTCOMES = ("hit", "no_hit", "missing", "disabled")


@dataclass
class RuleHits:
    """The rules of one section evaluated on a shard: ``hits[:, j]`` for ``rules[j]``."""

    rules: list[Rule]
    hits: np.ndarray  # bool, rows x rules (disabled rules never hit)
    traces: list[pa.StructArray]  # per rule: its trace item for every row


def constant(value: str, n: int) -> pa.DictionaryArray:
    """``value`` on each of ``n`` rows, stored once (a one-entry dictionary)."""
    import numpy as np
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int8)), pa.array([value], pa.string()))


def constant_json(value: Any, n: int) -> tuple[pa.DictionaryArray, dict[bytes, bytes]]:
    """``value`` (any JSON value) on each of ``n`` rows, with the metadata its field needs."""
    return constant(json.dumps(value, separators=(",", ":")), n), _JSON


def column(values: Any) -> pa.Array:
    """An Arrow array of ``values`` (numpy or Arrow; a chunked column is combined, NaN stays NaN)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(values)


def struct(items: Sequence[tuple[str, Any]], metadata: dict[bytes, bytes] | None = None) -> pa.StructArray:
    """A struct column from ``(name, array)`` pairs; an array given as ``(array, metadata)`` keeps
    its field metadata (see :func:`constant_json`)."""
    import pyarrow as pa

    arrays, fields = [], []
    for name, value in items:
        array, meta = value if isinstance(value, tuple) else (value, None)
        array = column(array)
        arrays.append(array)
        fields.append(pa.field(name, array.type, metadata=meta))
    return pa.StructArray.from_arrays(arrays, fields=fields)


def rule_list(traces: Sequence[pa.StructArray], rules: Sequence[Rule]) -> tuple[pa.StructArray, dict]:
    """The rules' trace items as one struct field per rule (rendered as a list, in order)."""
    return struct([(rule.id, trace) for rule, trace in zip(rules, traces, strict=True)]), _LIST


def evaluate(rules: Sequence[Rule], columns: Mapping[str, Any], n: int, section: str) -> RuleHits:
    """Evaluate ``rules`` on ``n`` rows of ``columns`` (fact name -> numpy / pyarrow column)."""
    import numpy as np
    import pyarrow as pa

    hits = np.zeros((n, len(rules)), dtype=bool)
    outcomes = pa.array(_OUTCOMES, pa.string())
    traces: list[pa.StructArray] = []
    observed_of: dict[str, pa.Array] = {}  # each fact's column, made once for every rule reading it
    for j, rule in enumerate(rules):
        head: list[tuple[str, Any]] = [
            ("rule_id", constant(rule.id, n)), ("section", constant(section, n)),
            ("action", constant(str(rule.action), n)), ("params", constant_json(rule.params, n)),
        ]  # fmt: skip
        if not rule.enabled:
            # Parquet has no struct without fields: "nothing observed" is the constant {}.
            observed_nothing = constant_json({}, n)
            traces.append(
                struct([*head, ("observed", observed_nothing), ("outcome", constant("disabled", n))])
            )
            continue
        hit, missing = rule.compiled.hit_arrays(columns, n)
        if rule.on_missing is OnMissing.HIT:
            hit = hit | missing
        hits[:, j] = hit
        observed = []
        for fact in sorted(rule.compiled.facts):
            if fact not in observed_of:
                observed_of[fact] = column(columns[fact]) if fact in columns else pa.nulls(n)
            observed.append((fact, observed_of[fact]))
        index = np.where(hit, 0, np.where(missing, 2, 1)).astype(np.int8)
        outcome = pa.DictionaryArray.from_arrays(pa.array(index), outcomes)
        traces.append(struct([*head, ("observed", struct(observed)), ("outcome", outcome)]))
    return RuleHits(rules=list(rules), hits=hits, traces=traces)


def list_column(mask: np.ndarray, labels: Sequence[str]) -> pa.Array:
    """A ``list<string>`` per row: ``labels[j]`` for every ``mask[row, j]`` (in label order)."""
    import numpy as np
    import pyarrow as pa

    counts = mask.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    _, cols = np.nonzero(mask)
    values = pa.array(np.asarray(labels, dtype=object)[cols] if len(cols) else [], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def trace_of(trace: pa.Array | pa.ChunkedArray, row: int) -> dict[str, Any]:
    """Account ``row``'s trace (a ``trace`` column of a job's output) as its JSON object: the rules
    as a list in policy order, constants parsed, NaN and infinities as ``None``."""
    return _render(trace.type, trace[row].as_py())


def _render(kind: Any, value: Any) -> Any:
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_struct(kind):
        out: dict[str, Any] = {}
        for i in range(kind.num_fields):
            field = kind.field(i)
            meta = field.metadata or {}
            item = value.get(field.name)
            if meta.get(b"render") == b"json":
                out[field.name] = None if item is None else json.loads(item)
            elif meta.get(b"render") == b"list":
                sub = field.type
                out[field.name] = [
                    _render(sub.field(k).type, item[sub.field(k).name]) for k in range(sub.num_fields)
                ]
            else:
                out[field.name] = _render(field.type, item)
        return out
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
