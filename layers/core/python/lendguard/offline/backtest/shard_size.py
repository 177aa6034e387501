"""How many archived cases one shard of a sharded backtest evaluates (light: the CLI's options read it)."""

DEFAULT_SHARD_CASES = 2_000
MAX_SHARD_CASES = 50_000
