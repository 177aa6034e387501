"""The local AWS runtime on moto. Never imported by Lambda code."""
