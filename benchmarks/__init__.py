"""Benchmarks: what the integration costs with many chargers (``scripts/bench``)."""
