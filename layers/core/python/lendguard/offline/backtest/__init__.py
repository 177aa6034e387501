"""Backtests: a whole policy evaluated column-wise over a table of applications.

* :mod:`.facts` - which fact columns a policy needs, and the type of each.
* :mod:`.data` - reading and checking a data file (CSV or Parquet) into typed columns.
* :mod:`.evaluator` - the column evaluator: the same compiled rules, model and tables as the
  online stages, one numpy array per outcome (parity-tested against the in-process pipeline).
* :mod:`.offers` - limits and APRs for many rows, exactly as the decision stage computes them.
* :mod:`.aggregates` - counts per shard that merge exactly; :mod:`.compare` the swap set.
* :mod:`.report` - the report (JSON), its HTML page and the terminal summary.
"""
