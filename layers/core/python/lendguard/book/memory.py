"""An in-memory :class:`~lendguard.book.accounts.AccountStore` with the DynamoDB store's semantics
(conditional create, versioned save, apply at most once per key): for tests, benchmarks and
offline runs over a generated book."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lendguard.book.accounts import Account, AuditEntry
from lendguard.core.errors import Conflict
from lendguard.outcomes.events import LoanEvent


class MemoryAccountStore:
    """Accounts and their loan events held in dictionaries."""

    def __init__(self, accounts: Iterable[Account] = (), events: Iterable[LoanEvent] = ()) -> None:
        self._accounts: dict[str, Account] = {a.account_id: a for a in accounts}
        self._events: dict[str, list[LoanEvent]] = {}
        for event in events:
            self._events.setdefault(event.case_id, []).append(event)

    def get(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def create(self, account: Account) -> bool:
        if account.account_id in self._accounts:
            return False
        self._accounts[account.account_id] = account
        return True

    def save(self, account: Account) -> None:
        current = self._accounts.get(account.account_id)
        if current is None or current.version != account.version - 1:
            raise Conflict(f"account {account.account_id} changed meanwhile; read it again")
        self._accounts[account.account_id] = account

    def apply(self, account: Account, entry: AuditEntry) -> bool:
        current = self._accounts.get(account.account_id)
        if current is not None and entry.apply_key in current.applied_keys:
            return False
        if current is None or current.version != account.version:
            raise Conflict(f"account {account.account_id} changed meanwhile; read it again")
        self._accounts[account.account_id] = account.with_audit(entry)
        return True

    def accounts(self) -> Iterator[Account]:
        yield from list(self._accounts.values())

    def events_of(self, account_id: str) -> list[LoanEvent]:
        return list(self._events.get(account_id, []))

    def add_events(self, events: Iterable[LoanEvent]) -> None:
        """Record events (what the events table would hold)."""
        for event in events:
            self._events.setdefault(event.case_id, []).append(event)
