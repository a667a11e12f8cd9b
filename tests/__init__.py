"""Tests of EV Charge Control."""
