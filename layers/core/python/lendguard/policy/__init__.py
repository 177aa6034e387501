"""Policies: rule documents, their loader and the safe expression language rules are written in."""
