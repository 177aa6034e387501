"""Case records, manual review, the decision response and the case service."""
