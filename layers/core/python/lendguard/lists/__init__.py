"""Black, grey and white lists: key types and normalisation, entries and audit, management.

Imports here stay free of boto3 so the decision stages can use the key types; the DynamoDB
side lives in ``lendguard.store.lists`` and the HTTP side in ``lendguard.http.routes.lists``.
"""

from lendguard.lists.entries import AuditEvent, Clock, EntryRequest, ImportReport, ListEntry, RowError
from lendguard.lists.keys import KeyType, ListKind, Source, hash_value, normalize, parse_key_type, parse_kind

__all__ = [
    "AuditEvent",
    "Clock",
    "EntryRequest",
    "ImportReport",
    "KeyType",
    "ListEntry",
    "ListKind",
    "RowError",
    "Source",
    "hash_value",
    "normalize",
    "parse_key_type",
    "parse_kind",
]
