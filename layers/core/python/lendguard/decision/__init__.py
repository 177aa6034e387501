"""The pre-loan decision: state, stage registry, stages, the in-process pipeline, wiring."""
