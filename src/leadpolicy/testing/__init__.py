"""Sample cases and coverage, JUnit reports and the pytest plugin."""
