"""Pure stage logic of the decision flow: no boto3 here, only models and plain values."""
