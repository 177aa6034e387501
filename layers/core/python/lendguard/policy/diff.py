"""Semantic diff of two policies: what changed in meaning, not in text.

The diff walks the two *validated* policies as data (``Policy.model_dump``), so comments,
key order and formatting never show, defaults filled in by the schema compare equal, and a
section added to the schema later is diffed like every other without a change here.

- Lists of objects with an ``id`` (rules, vendors, vendor groups) or a ``name`` (features) are
  matched by it: added, removed, changed field by field, and reordered.
- Lists of scalars (a group's vendors, band edges) report a reorder when only the order moved,
  otherwise element by element; tables (lists of lists) cell by cell.
- A rule's ``enabled`` change reads "switched on" / "switched off".
"""

from __future__ import annotations

from typing import Any, Literal

from lendguard.core.base_model import Model
from lendguard.policy.schema import Policy

ChangeKind = Literal["added", "removed", "changed", "reordered", "switched_on", "switched_off"]
_KEYS = ("id", "name")


class Change(Model):
    """One difference at a path such as ``vendor_groups[bureau].rules[BUR_THIN_FILE].params.max_days``."""

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0].split("[", 1)[0]


class PolicyDiff(Model):
    old: dict[str, Any]
    new: dict[str, Any]
    changes: list[Change]

    def sections(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        for change in self.changes:
            out.setdefault(change.section, []).append(change)
        return out


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Every semantic difference between two policies, in document order."""
    a = old.model_dump(mode="json", exclude={"id", "version"})
    b = new.model_dump(mode="json", exclude={"id", "version"})
    changes: list[Change] = []
    _diff(a, b, "", changes)
    return PolicyDiff(old=old.ref, new=new.ref, changes=changes)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _match_key(items: list[Any]) -> str | None:
    for key in _KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            return key
    return None


def _diff(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            here = _join(path, key)
            if key not in b:
                out.append(Change(path=here, kind="removed", old=a[key]))
            elif key not in a:
                out.append(Change(path=here, kind="added", new=b[key]))
            elif key == "enabled" and "expression" in a and a[key] != b[key]:
                out.append(Change(path=here, kind="switched_on" if b[key] else "switched_off", old=a[key], new=b[key]))  # fmt: skip
            else:
                _diff(a[key], b[key], here, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        _diff_list(a, b, path, out)
        return
    if a != b:
        out.append(Change(path=path, kind="changed", old=a, new=b))


def _diff_list(a: list[Any], b: list[Any], path: str, out: list[Change]) -> None:
    key = _match_key(a + b) if (a or b) else None
    if key is not None:
        old = {item[key]: item for item in a}
        new = {item[key]: item for item in b}
        for k, item in old.items():
            if k not in new:
                out.append(Change(path=f"{path}[{k}]", kind="removed", old=item))
        for k, item in new.items():
            if k in old:
                _diff(old[k], item, f"{path}[{k}]", out)
            else:
                out.append(Change(path=f"{path}[{k}]", kind="added", new=item))
        common_old = [k for k in old if k in new]
        common_new = [k for k in new if k in old]
        if common_old != common_new:
            out.append(Change(path=path, kind="reordered", old=common_old, new=common_new))
        return
    scalars = all(not isinstance(i, dict | list) for i in a + b)
    if scalars and a != b and sorted(map(str, a)) == sorted(map(str, b)):
        out.append(Change(path=path, kind="reordered", old=a, new=b))
        return
    if len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
        return
    out.append(Change(path=path, kind="changed", old=a, new=b))


def changes_offer(diff: PolicyDiff) -> bool:
    """Whether the difference can change an applicant's limit or price (a fairness question)."""
    return any(c.section in ("limits", "pricing", "products") for c in diff.changes)
