"""Evaluation of credit models: discrimination (KS, AUC, Gini), WOE / IV and stability (PSI).

Offline code (backtests, training reports, the daily monitoring job): numpy is imported at module
level. The online scoring Lambda never imports this package.
"""
