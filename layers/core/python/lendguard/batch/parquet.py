"""Arrow tables to and from Parquet bytes (the store moves the bytes)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq


def to_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def from_bytes(body: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(body))
