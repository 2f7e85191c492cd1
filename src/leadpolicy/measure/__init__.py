"""Measuring an agreement against what happened: feedback on outcomes, and backtests of a change."""
