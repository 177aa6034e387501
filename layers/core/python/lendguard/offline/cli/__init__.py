"""The ``lendguard`` command line."""
