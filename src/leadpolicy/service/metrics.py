"""The service's Prometheus metrics: requests, latency, decisions, reloads, assignments and held leads."""

from __future__ import annotations

from typing import Callable, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics


class Metrics:
    def __init__(self) -> None:
        # One series per counter, not a second one of creation times (the function has no annotations).
        cast(Callable[[], None], disable_created_metrics)()
        self.registry = CollectorRegistry()
        self.requests = Counter("leadpolicy_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("leadpolicy_request_seconds", "Request latency by endpoint", ["endpoint"],
                                 registry=self.registry,
                                 buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0))
        self.decisions = Counter("leadpolicy_decisions", "Decisions by policy and stage", ["policy", "stage"],
                                 registry=self.registry)
        self.decision_log_errors = Counter("leadpolicy_decision_log_errors",
                                           "Writes the decision log refused (their decisions were answered 503)",
                                           registry=self.registry)
        self.reloads = Counter("leadpolicy_reloads", "Policy versions swapped in", ["policy"], registry=self.registry)
        self.reload_failures = Counter("leadpolicy_reload_failures", "Loads that failed and kept the last good version",
                                       ["source"], registry=self.registry)
        self.broken = Gauge("leadpolicy_policy_broken",
                            "1 while a served file's latest edit does not load, or another file serves its policy id",
                            ["source"], registry=self.registry)
        self.assignments = Counter("leadpolicy_assignments", "Answers of assign by policy, team, member (as written; "
                                   "empty when held) and how", ["policy", "team", "member", "how"],
                                   registry=self.registry)
        self.held = Gauge("leadpolicy_held_leads", "Leads the state holds for a team (of every process sharing it), "
                          "counted each second", ["policy", "team"], registry=self.registry)
