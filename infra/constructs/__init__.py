"""Small constructs the lendguard stack is assembled from.

Note: this package is ``infra.constructs``. ``infra/app.py`` removes ``infra/`` from ``sys.path``
when it runs as a script, so this folder never shadows the ``constructs`` library.
"""
