"""The book snapshot: rows derived from accounts and events, the validator, the generator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from lendguard.book.accounts import draw, open_account
from lendguard.book.memory import MemoryAccountStore
from lendguard.book.snapshot import SNAPSHOT_COLUMNS, arrow_schema, snapshot_rows, validate_snapshot
from lendguard.core.errors import InvalidInput
from lendguard.offline.book_synthetic import book_table
from lendguard.outcomes.events import LoanEvent


def ev(event_id: str, type_: str, day: date, **kw) -> LoanEvent:
    return LoanEvent.model_validate(
        {"event_id": event_id, "case_id": "C1", "loan_id": "L1", "type": type_, "date": day, **kw}
    )


def test_snapshot_rows_derive_balances_and_delinquency_from_the_events():
    acct = open_account(
        account_id="C1", customer_key="k" * 64, product="revolving", mode="revolving", credit_limit=Decimal("5000"),
        apr=Decimal("0.24"), term_months=3, terms=[3], repayment_method="annuity", fees=[], cost_cap=Decimal("0.36"),
        cost_annualisation="irr_x12", opened_on=date(2026, 1, 5), valid_until=date(2027, 1, 5),
    )  # fmt: skip
    drawn = ev("E1", "drawn", date(2026, 1, 10), amount="3000")
    events = [
        drawn,
        ev("E2", "instalment_due", date(2026, 2, 10), amount="1000"),
        ev("E3", "repaid", date(2026, 2, 10), amount="1000", principal="940"),
        ev("E4", "instalment_due", date(2026, 3, 10), amount="1000"),
    ]
    store = MemoryAccountStore([draw(acct, drawn, [])], events)
    (row,) = snapshot_rows(store, date(2026, 3, 20))
    assert set(row) == set(SNAPSHOT_COLUMNS)
    assert (
        row["balance"] == 2060.0 and row["available"] == 2940.0 and row["utilisation"] == pytest.approx(0.412)
    )
    assert (row["days_past_due"], row["max_dpd_3m"], row["arrears"]) == (10, 10, 1000.0)
    assert row["payment_ratio_3m"] == 0.5 and row["draws_3m"] == 1 and row["months_on_book"] == 2
    assert row["status"] == "ACTIVE" and row["days_since_limit_change"] == 74
    table = pa.Table.from_pylist([row], schema=arrow_schema())
    validate_snapshot(table)  # the export's own rows pass
    assert list(snapshot_rows(store, date(2026, 1, 1))) == []  # not yet opened


def test_the_validator_names_missing_columns_and_wrong_types():
    table = book_table(5, labels=False).drop_columns(["balance", "vulnerable"])
    for name, values in (("apr", pa.array([1] * 5, pa.int32())), ("max_dpd_3m", pa.array(["1"] * 5))):
        table = table.set_column(table.schema.get_field_index(name), name, values)
    with pytest.raises(InvalidInput) as exc:
        validate_snapshot(table)
    assert {d.field: d.message for d in exc.value.details} == {
        "balance": "column is missing", "vulnerable": "column is missing",
        "apr": "must be float64, got int32", "max_dpd_3m": "must be int64, got string",
    }  # fmt: skip


def test_the_generator_is_deterministic_and_fits_the_schema():
    a, b = book_table(2000, seed=3), book_table(2000, seed=3)
    assert a.equals(b) and not a.equals(book_table(2000, seed=4))
    validate_snapshot(a)
    assert a.num_rows == 2000 and len(set(a.column("account_id").to_pylist())) == 2000
    bad = sum(a.column("bad_6m").to_pylist()) / 2000
    assert 0.03 < bad < 0.15
    keys = a.column("customer_key").to_pylist()
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys[:50])


def test_the_committed_book_models_were_trained_on_what_the_generator_makes_today():
    """A change to the generator must come with retrained models (see tests/data/models/README.md)."""
    from pathlib import Path

    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.book_synthetic import BEHAVIOUR_FEATURES, ROLLRATE_FEATURES
    from lendguard.offline.training.book_models import BOOK_ROWS, BOOK_SEED
    from lendguard.offline.training.xgb import data_sha256

    frame = book_table(BOOK_ROWS, BOOK_SEED).to_pandas()
    past_due = frame[frame["days_past_due"] > 0].reset_index(drop=True)
    models = Path(__file__).resolve().parents[1] / "data" / "models"
    for model_id, data, label, features in (
        ("behaviour-xgb", frame, "bad_6m", BEHAVIOUR_FEATURES),
        ("rollrate-xgb", past_due, "roll_30", ROLLRATE_FEATURES),
    ):
        meta = ModelArtifact.load(models / model_id / "v1").metadata
        sample = data[[*features, label]].astype("float64")
        assert meta.data_sha256 == data_sha256(sample, [*features, label]), model_id
        assert meta.feature_names == list(features)
