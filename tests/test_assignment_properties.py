"""Properties of the rotations for any stream of leads with everybody available (LANGUAGE-v3.md): `by weight`
(smooth weighted round robin) gives each member exactly its weight in every window of sum(weights) consecutive
assignments; `round robin` keeps every two members within one lead of each other after every assignment."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from leadpolicy.assignment import Assigner, open_state

from .assignment_states import NY, policy_ir


def one_team(assign: str, weights: list[int]) -> str:
    members = "".join(f'    member "Member {chr(65 + i)} <m{i}@example.com>" weight {w}\n'
                      for i, w in enumerate(weights))
    return (f'policy "rotation" version 1.0.0 {{\n  owner marketing "Mia Lane <mia@example.com>"\n'
            f'  owner sales "Sam Roy <sam@example.com>"\n  timezone "America/New_York"\n'
            f'  lead {{\n    email text required\n  }}\n  stages {{\n    sql otherwise owner sales\n  }}\n'
            f'  route for sql {{\n    "desk" otherwise\n  }}\n  team desk {{\n    assign {assign}\n{members}  }}\n}}\n')


def stream(assign: str, weights: list[int], gaps: list[int]) -> list[str]:
    """The members assigned to leads arriving `gaps` minutes apart, on a fresh state in memory."""
    state = open_state(":memory:")
    assigner = Assigner(policy_ir(one_team(assign, weights)), state)
    at = dt.datetime(2027, 1, 4, 0, 0, tzinfo=NY)
    got = []
    for i, gap in enumerate(gaps):
        at += dt.timedelta(minutes=gap)
        outcome = assigner.assign(f"lead-{i}", "desk", f"x{i}@example.org", at)
        assert outcome is not None and outcome.how == "rotation"
        got.append(outcome.assignee)
    state.close()
    return got


GAPS = st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=60)


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=5), gaps=GAPS)
def test_by_weight_shares_are_exact_over_every_window_of_the_sum_of_weights(weights, gaps):
    total = sum(weights)
    got = stream("by weight", weights, gaps * (1 + 2 * total // len(gaps)))  # at least two whole windows
    want = {f"Member {chr(65 + i)} <m{i}@example.com>": w for i, w in enumerate(weights)}
    for start in range(len(got) - total + 1):
        assert Counter(got[start:start + total]) == want, (start, got)


@settings(max_examples=25, deadline=None)
@given(members=st.integers(min_value=1, max_value=6), gaps=GAPS)
def test_round_robin_counts_differ_by_at_most_one_after_every_assignment(members, gaps):
    got = stream("round robin", [1] * members, gaps)
    everyone = [f"Member {chr(65 + i)} <m{i}@example.com>" for i in range(members)]
    assert got[:members] == everyone[:len(got)]  # listed order, from the first member
    for end in range(1, len(got) + 1):
        counts = Counter(got[:end])
        shares = [counts[m] for m in everyone]
        assert max(shares) - min(shares) <= 1, got[:end]
