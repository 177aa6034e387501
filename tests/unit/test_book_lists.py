"""``list_column``: the reasons / flags lists of a shard, one list per row in label order."""

from __future__ import annotations

import numpy as np
import pytest

from lendguard.book.rules import list_column


@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (1, 1), (500, 6)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_each_row_lists_its_set_labels_in_label_order(shape, order):
    mask = np.asarray(np.random.default_rng(shape[0]).random(shape) < 0.3, order=order)
    labels = [f"RULE_{j}" for j in range(shape[1])]
    got = list_column(mask, labels).to_pylist()
    assert got == [[labels[j] for j in range(shape[1]) if mask[i, j]] for i in range(shape[0])]
