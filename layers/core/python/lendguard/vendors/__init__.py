"""Third-party data: one adapter interface, and everything around a vendor call.

- ``base``: the :class:`~lendguard.vendors.base.Provider` protocol, the simulated adapter and
  the registry (adapters and circuit breakers per container);
- ``http``: the generic HTTP JSON adapter (URL, method, auth header from Secrets Manager,
  request template, JSON-pointer response mapping);
- ``caller``: one call with replay protection, cache, breaker, timeout, retries, billing and
  payload archiving; ``resilience``: breaker, backoff, timeout; ``errors``: the fault classes;
- ``cache``: the cache interface and keys; ``metrics``: per-vendor metrics;
- ``responses`` and ``simulated``: typed answers per service and deterministic fake vendors.

Nothing here calls boto3: the cache table, payload archive and secrets come from ``store``.
"""
