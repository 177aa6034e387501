"""The import CSV: per-row errors, request-level refusals, and splitting a file into requests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from lendguard.core.errors import InvalidInput
from lendguard.core.hashing import LOCAL_SECRET, keyed_hash
from lendguard.lists.csvio import MAX_IMPORT_ROWS, parse_import, split_csv
from lendguard.lists.entries import epoch
from lendguard.lists.keys import KeyType, ListKind

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def parse(text: str):
    return parse_import(text, LOCAL_SECRET, NOW)


def test_good_rows_are_hashed_and_bad_rows_reported_by_row_and_field():
    text = (
        "kind,key_type,value,reason,ttl_days\n"
        "BLACK,DEVICE_ID,dev-blacklisted-0001,FRAUD_RING,\n"  # 1: good, permanent
        "grey,phone,+86 139 0000 0000,disputed a charge,90\n"  # 2: good, free-text reason
        "PURPLE,PHONE,13900000000,X,\n"  # 3: bad kind
        "BLACK,EMAIL,a@b.c,X,\n"  # 4: bad key type
        "BLACK,PHONE,12345,X,\n"  # 5: bad value
        "BLACK,PHONE,13900000001,X,ninety\n"  # 6: bad ttl
        "WHITE,IP,2001:DB8::1,STAFF_VPN,30\n"  # 7: good
    )
    rows, good, errors = parse(text)
    assert rows == 7
    assert [r.row for r in good] == [1, 2, 7]
    black, grey, white = good
    assert black.kind is ListKind.BLACK and black.key_type is KeyType.DEVICE_ID and black.expires_at is None
    assert black.reason_code == "FRAUD_RING" and black.reason == ""
    assert black.value_hash == keyed_hash("DEVICE_ID", "dev-blacklisted-0001", LOCAL_SECRET)
    assert grey.reason_code == "IMPORTED" and grey.reason == "disputed a charge"
    assert grey.value_hash == keyed_hash("PHONE", "13900000000", LOCAL_SECRET)
    assert grey.expires_at == epoch(NOW) + 90 * 86_400
    assert white.value_hash == keyed_hash("IP", "2001:db8::1", LOCAL_SECRET)
    assert [(e.row, e.field) for e in errors] == [(3, "kind"), (4, "key_type"), (5, "value"), (6, "ttl_days")]
    assert "PURPLE" in errors[0].message and "12345" not in errors[2].message


def test_optional_columns_in_any_order():
    text = "value,reason_code,key_type,kind,expires_at,reason\n13900000000,DISPUTE,PHONE,GREY,2027-01-01T00:00:00+08:00,card dispute\n"
    _, (row,), errors = parse(text)
    assert errors == [] and row.reason_code == "DISPUTE" and row.reason == "card dispute"
    assert row.expires_at == epoch(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        ("BLACK,PHONE,13900000000,X,5,1900000000", "ttl_days", "not both"),
        ("BLACK,PHONE,13900000000,X,,1000", "expires_at", "future"),
        ("BLACK,PHONE,13900000000,X,,2027-01-01", "expires_at", "UTC offset"),
        ("BLACK,PHONE,13900000000,X,,soon", "expires_at", "ISO 8601"),
        ("BLACK,PHONE,13900000000,X,99999,", "ttl_days", "1 to 3650"),
        (
            "BLACK,PHONE,13900000000,called from 139 0000 0000,,",
            "reason",
            "must not contain the listed value",
        ),
        ("BLACK,PHONE,13900000000,X,,,extra", "(row)", "has 7 fields"),
    ],
)
def test_row_problems(cells, field, message):
    _, good, errors = parse(f"kind,key_type,value,reason,ttl_days,expires_at\n{cells}\n")
    assert good == [] and len(errors) == 1
    assert errors[0].row == 1 and errors[0].field == field and message in errors[0].message


def test_bad_reason_code_column():
    _, good, errors = parse("kind,key_type,value,reason_code\nBLACK,PHONE,13900000000,fraud ring\n")
    assert good == [] and errors[0].field == "reason_code"


def test_bom_and_blank_lines_are_tolerated():
    rows, good, errors = parse("\ufeffkind,key_type,value\r\n\r\nBLACK,PHONE,13900000000\r\n,,\r\n")
    assert (rows, len(good), errors) == (1, 1, [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "CSV is empty"),
        ("kind,value\nBLACK,1\n", "missing column(s): key_type"),
        ("kind,key_type,value,ttl_day\n", "unknown column(s): ttl_day"),
        ("kind,key_type,value,value\n", "duplicated column(s): value"),
    ],
)
def test_request_level_problems_refuse_the_whole_request(text, message):
    with pytest.raises(InvalidInput) as exc:
        parse(text)
    assert message in str(exc.value)


def test_more_than_the_row_limit_is_refused():
    text = "kind,key_type,value\n" + "BLACK,PHONE,13900000000\n" * (MAX_IMPORT_ROWS + 1)
    with pytest.raises(InvalidInput, match=f"more than {MAX_IMPORT_ROWS} rows"):
        parse(text)
    rows, good, _ = parse("kind,key_type,value\n" + "BLACK,PHONE,13900000000\n" * MAX_IMPORT_ROWS)
    assert rows == len(good) == MAX_IMPORT_ROWS


def test_split_csv_repeats_the_header_and_numbers_rows():
    lines = [["kind", "key_type", "value", "reason"]] + [
        ["BLACK", "PHONE", f"139{i:08d}", "a, quoted reason"] for i in range(12)
    ]
    lines.insert(5, [])  # a blank line is skipped, not counted
    chunks = list(split_csv(lines, max_rows=5))
    assert [(first, count) for first, count, _ in chunks] == [(1, 5), (6, 5), (11, 2)]
    for first, count, body in chunks:
        parsed = list(csv.reader(io.StringIO(body)))
        assert parsed[0] == lines[0] and len(parsed) == count + 1
        assert parsed[1][2] == f"139{first - 1:08d}" and parsed[1][3] == "a, quoted reason"


def test_split_csv_respects_a_byte_budget():
    lines = [["kind", "key_type", "value"]] + [["BLACK", "PHONE", f"139{i:08d}"] for i in range(100)]
    chunks = list(split_csv(lines, max_rows=5000, max_bytes=300))
    assert sum(count for _, count, _ in chunks) == 100 and len(chunks) > 5
    assert all(len(body) < 400 for _, _, body in chunks)
