"""Repayment outcomes: loan events (the one source of truth), snapshots derived from them, and
"bad" definitions for evaluation."""
