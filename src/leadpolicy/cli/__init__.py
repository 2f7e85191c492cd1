"""The command line: one entry point, its commands and the pyproject settings."""
