"""The loan book: accounts opened from approved offers, their loans, and the nightly batch jobs.

``accounts`` (the account and its draws), ``ingest`` (loan events checked against the book),
``snapshot`` (one row per account for the batch),
``rules`` (vectorised rule
evaluation with traces), ``jobs`` (in-loan and post-loan), ``notices`` (what the borrower is
told), ``publisher`` (where events go), ``memory`` (an in-memory store). Storage is in :mod:`lendguard.store.accounts`.
"""
