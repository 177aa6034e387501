"""Code that never ships in the Lambda layer: CLI, local runtime, training, evaluation, reports."""
