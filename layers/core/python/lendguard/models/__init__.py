"""Models: the light tree evaluator, PD ↔ points scaling, model artifacts and (offline) training.

``trees``, ``points`` and ``artifact`` are imported by the online scoring Lambda and depend only
on the standard library, pydantic and (lazily, for batches) numpy. ``training`` is offline only:
it imports xgboost, pandas and scikit-learn.
"""
