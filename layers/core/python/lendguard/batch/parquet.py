"""Arrow tables to and from Parquet bytes (the store moves the bytes).

The writer options are chosen by measurement (100,000 accounts, ``bench/book_scoring.py`` and
the scripts behind its numbers in the README):

* snapshot shards (:func:`snapshot_to_bytes`, written once by the planner, read by a shard) are
  LZ4: read 1.5-2x faster than zstd, for 1.6x the bytes;
* job results (:func:`results_to_bytes`): LZ4 (no compression writes ~30% faster but 2.6x the
  bytes, 17.8 MB a shard, more than the time saved when the bytes go to S3); columns already
  dictionary-encoded in Arrow (the trace's string facts and outcomes, the reasons) are written as
  dictionaries and every other column plainly (trying a dictionary on 100,000 distinct floats
  costs more than it saves); no statistics (20% of the write; no reader of results filters by
  them: the summary counts markers, ``batch show`` and apply read whole files).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq


def to_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def from_bytes(
    body: bytes, columns: Sequence[str] | None = None, dictionaries: Sequence[str] = ()
) -> pa.Table:
    """The table in ``body``; only ``columns`` when given (the others are never decoded), and
    the string columns ``dictionaries`` as dictionary arrays (Parquet stores them so: no string
    per row is ever made)."""
    wanted = list(columns) if columns is not None else None
    read_dictionary = [c for c in dictionaries if wanted is None or c in wanted] or None
    return pq.read_table(io.BytesIO(body), columns=wanted, read_dictionary=read_dictionary)


def schema_of(body: bytes) -> pa.Schema:
    """The Arrow schema of the Parquet file in ``body``, from its footer (no data read)."""
    return pq.read_schema(io.BytesIO(body))


def snapshot_to_bytes(table: pa.Table) -> bytes:
    """A snapshot shard, written for a fast read."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="lz4")
    return sink.getvalue()


def results_to_bytes(table: pa.Table) -> bytes:
    """A job's results, written for a fast write (see the module docstring)."""
    sink = io.BytesIO()
    pq.write_table(
        table, sink, compression="lz4", use_dictionary=_dictionary_paths(table.schema), write_statistics=False
    )
    return sink.getvalue()


def _dictionary_paths(schema: pa.Schema) -> list[str]:
    """Parquet column paths of the dictionary-typed leaves (struct children, list elements)."""
    paths: list[str] = []

    def walk(path: str, kind: pa.DataType) -> None:
        if pa.types.is_dictionary(kind):
            paths.append(path)
        elif pa.types.is_struct(kind):
            for k in range(kind.num_fields):
                walk(f"{path}.{kind.field(k).name}", kind.field(k).type)
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            walk(f"{path}.list.element", kind.value_type)

    for field in schema:
        walk(field.name, field.type)
    return paths
