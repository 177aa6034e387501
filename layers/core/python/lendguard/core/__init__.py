"""Shared types below everything: the application, identifiers, hashing, errors, schedules."""
