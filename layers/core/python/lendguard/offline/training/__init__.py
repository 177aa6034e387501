"""Model training (XGBoost, scorecards) and the default model."""
