"""Our own data, read before anyone else's: velocity on hashed identifiers, the customer's case
history and loans, and precomputed customer features (the InternalData stage).

Pure logic on plain values; the DynamoDB side is in ``lendguard.store.velocity``,
``lendguard.store.customer_history`` and ``lendguard.store.customer_features``.
"""
