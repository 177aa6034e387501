"""The loan book in DynamoDB (``AccountsTable``): one item per account, keyed by ``account_id``.

Item attributes: ``account_id`` (key), ``customer_key`` and ``opened_on`` (the ``by_customer``
GSI: a customer's accounts without a scan), ``status``, ``version`` (N), ``applied`` (string
set of the apply keys already applied) and ``body`` (the account as JSON: what reads return).

Every write is conditional: a new account on the id being free; a change on the version read
(optimistic locking, :class:`~lendguard.core.errors.Conflict` otherwise); a batch action also on
its apply key being absent from ``applied``, in the same single-item write, so a re-run of the
same (account, job, run date) never applies twice, even when two runs race.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from lendguard.book.accounts import Account, AuditEntry
from lendguard.core.errors import Conflict
from lendguard.outcomes.events import LoanEvent
from lendguard.settings import settings
from lendguard.store import outcomes
from lendguard.store.aws import client


def accounts_table() -> str:
    return settings.accounts_table


def _item(account: Account) -> dict[str, Any]:
    item: dict[str, Any] = {
        "account_id": {"S": account.account_id},
        "customer_key": {"S": account.customer_key},
        "opened_on": {"S": account.opened_on.isoformat()},
        "status": {"S": account.status},
        "version": {"N": str(account.version)},
        "body": {"S": account.model_dump_json()},
    }
    if account.audit:
        item["applied"] = {"SS": sorted(account.applied_keys)}
    return item


def _account(item: dict[str, Any]) -> Account:
    return Account.model_validate_json(item["body"]["S"])


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoAccountStore:
    """The :class:`~lendguard.book.accounts.AccountStore` of a deployment."""

    def get(self, account_id: str) -> Account | None:
        item = (
            client("dynamodb")
            .get_item(TableName=accounts_table(), Key={"account_id": {"S": account_id}}, ConsistentRead=True)
            .get("Item")
        )
        return _account(item) if item else None

    def create(self, account: Account) -> bool:
        try:
            client("dynamodb").put_item(
                TableName=accounts_table(),
                Item=_item(account),
                ConditionExpression="attribute_not_exists(account_id)",
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        return True

    def save(self, account: Account) -> None:
        try:
            client("dynamodb").put_item(
                TableName=accounts_table(),
                Item=_item(account),
                ConditionExpression="version = :prev",
                ExpressionAttributeValues={":prev": {"N": str(account.version - 1)}},
            )
        except ClientError as exc:
            if _failed_condition(exc):
                raise Conflict(f"account {account.account_id} changed meanwhile; read it again") from None
            raise

    def apply(self, account: Account, entry: AuditEntry) -> bool:
        if entry.apply_key in account.applied_keys:
            return False
        updated = account.with_audit(entry)  # trimmed: the item stays far below 400 KB
        try:
            client("dynamodb").put_item(
                TableName=accounts_table(),
                Item=_item(updated),
                ConditionExpression="version = :prev AND NOT contains(applied, :key)",
                ExpressionAttributeValues={
                    ":prev": {"N": str(account.version)},
                    ":key": {"S": entry.apply_key},
                },
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise
            current = self.get(account.account_id)
            if current is not None and entry.apply_key in current.applied_keys:
                return False
            raise Conflict(f"account {account.account_id} changed meanwhile; read it again") from None
        return True

    def accounts(self) -> Iterator[Account]:
        """Every account (a paginated Scan: the planner's export, never the decision path)."""
        paginator = client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(TableName=accounts_table(), ConsistentRead=True):
            for item in page["Items"]:
                yield _account(item)

    def events_of(self, account_id: str) -> list[LoanEvent]:
        return outcomes.events_of(account_id)

    def of_customer(self, customer_key: str) -> list[Account]:
        """A customer's accounts, oldest first (the ``by_customer`` index)."""
        out: list[Account] = []
        paginator = client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=accounts_table(),
            IndexName="by_customer",
            KeyConditionExpression="customer_key = :k",
            ExpressionAttributeValues={":k": {"S": customer_key}},
        ):
            out.extend(_account(item) for item in page["Items"])
        return out

    def put_many(self, accounts: list[Account]) -> int:
        """Write accounts in bulk (seeding the local book: ``batch_writer``, unconditional)."""
        table = accounts_table()
        requests = [{"PutRequest": {"Item": _item(a)}} for a in accounts]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {table: requests[start : start + 25]}
            while pending:
                pending = (
                    client("dynamodb").batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                )
        return len(accounts)
