"""Powertools routers that ``lendguard.api`` includes, one module per resource."""
