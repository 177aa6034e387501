"""The daily monitor: business, rule, model, feature, data and vendor health of the decisions.

``view`` turns case records into what the monitor reads (one small interface, so the source can
switch to the case archive), ``summary`` aggregates a shard of cases into mergeable counts,
``evaluate`` compares a day against its baselines and flags each figure, ``report`` renders it.
"""
