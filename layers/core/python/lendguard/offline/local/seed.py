"""Example list entries the local runtime loads at start (``examples/lists/demo-lists.csv``).

``examples/applications/black-listed.json`` carries the device id listed there, so a
throw-away ``lendguard decide`` of it shows a black-list reject with no vendor called.
"""

from __future__ import annotations

from pathlib import Path

from lendguard.lists.entries import ImportReport
from lendguard.offline.project import examples_dir


def load_demo_lists(path: Path | None = None) -> ImportReport | None:
    """Import the example CSV through the management service; ``None`` if the file is absent."""
    from lendguard.lists.service import ListService
    from lendguard.store.lists import DynamoListStore
    from lendguard.store.secrets import hash_secret

    path = path or examples_dir() / "lists" / "demo-lists.csv"
    if not path.exists():
        return None
    report = ListService(DynamoListStore(), hash_secret()).import_csv(
        path.read_text(encoding="utf-8"), added_by="local-seed"
    )
    if report.failed:
        first = report.errors[0]
        raise ValueError(f"{path}: row {first.row} {first.field}: {first.message}")
    return report
