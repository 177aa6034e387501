"""Models: evaluators, scorecards, PD ↔ points scaling, artifacts, the registry and training.

Online (imported by the scoring Lambda; standard library and pydantic, numpy lazily for batches):
``trees`` (XGBoost JSON evaluator), ``scorecard`` (points cards), ``points``, ``encoding``,
``artifact`` and ``registry``.

Offline only (numpy, pandas, xgboost, scikit-learn): ``training`` (XGBoost), ``binning``
(monotonic WOE binning), ``scorecard_training`` (logistic points scorecards), ``tabular``
(training from a labelled CSV), ``default_model`` and ``synthetic``.
"""
