"""Business calendars, event logs, the SLA engine and its report."""
