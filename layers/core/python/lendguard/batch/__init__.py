"""Batch runs over the loan book: in-loan (nightly) and post-loan (daily) jobs.

One Step Functions STANDARD machine per job (``statemachines/<job>.asl.json``): the planner
(:mod:`.planner`) records the run and exports the book snapshot as Parquet shards with a JSON
manifest; a Distributed Map runs :mod:`.shard` once per shard; :mod:`.summary` compares the
shards expected with those written, aggregates and publishes metrics. The jobs themselves
(scoring, rules, applying actions) live in ``lendguard.book``; :mod:`.book` is the one place
this package reaches them.
"""
