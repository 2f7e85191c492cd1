"""leadpolicy: lead scoring, handoff, routing and SLA agreements as code."""

__version__ = "0.1.0"
