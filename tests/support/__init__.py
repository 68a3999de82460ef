"""Helpers shared by the test suites (the real case service as a subprocess, realistic messages)."""
