"""Faithful simulators of the vendor clouds, used by the tests and the demo."""
