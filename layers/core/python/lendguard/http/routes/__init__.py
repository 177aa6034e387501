"""Powertools routers that ``lendguard.http.app`` includes, one module per resource."""
