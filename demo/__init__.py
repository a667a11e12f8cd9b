"""`scripts/demo`: Home Assistant with this integration and the three vendor simulators."""
