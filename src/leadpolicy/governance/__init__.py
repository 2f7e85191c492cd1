"""Approvals and versions, semantic diffs, and the CI job's outputs."""
