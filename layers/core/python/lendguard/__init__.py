"""lendguard: a risk-control decision engine for online small loans."""

__version__ = "0.1.0"
