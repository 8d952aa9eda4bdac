"""A small soak on PostgreSQL: a few hundred random operations from three
concurrent API clients, then every invariant of DOMAIN.md (see
``tests/soak/engine.py``; ``bench/soak.py`` runs the same with 10,000)."""

from __future__ import annotations

import os

import pytest

from tests.soak import engine

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OPS = int(os.environ.get("OMS_SOAK_OPS", "200"))


def test_a_random_concurrent_run_keeps_every_invariant():
    # given a catalogue with stock, a policy with fees, keep-it and instant
    # refunds, and one API key per role
    # when three clients run a few hundred random operations at once, valid
    # and invalid, and the drain finishes what they left
    figures = engine.run(
        ops=OPS,
        threads=3,
        seed=int(os.environ.get("OMS_SOAK_SEED", "7")),
        checks=2,
        log=lambda *_: None,
    )
    print(figures.report(verbose=True))
    # then nothing answered 5xx, every invalid operation was refused, and every
    # invariant held during the run and after the drain
    assert figures.failures == [], figures.report()
    assert figures.total >= OPS
    assert figures.check_rounds == 3
    # and the run did exercise the flows it claims to
    for kind in ("order_create", "ship", "deliver", "return_create", "event:qc_result"):
        assert figures.accepted[kind] > 0, (kind, figures.report())
    assert sum(n for k, n in figures.refused.items() if k.startswith("invalid:")) > 0
