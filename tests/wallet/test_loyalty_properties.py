"""Loyalty reversal over any sequence of returns (hypothesis): never more than
was earned or redeemed, and exactly the order's points, and exactly the
points tender's money, once every unit is back (issue 12)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orders.loyalty import loyalty_split, loyalty_value
from refunds.loyalty import points_money


@st.composite
def orders_and_returns(draw):
    net_paid = draw(st.lists(st.integers(min_value=0, max_value=500_000), min_size=1, max_size=12))
    earned = draw(st.integers(min_value=0, max_value=100_000))
    redeemed = draw(st.integers(min_value=0, max_value=100_000))
    rate = Decimal(draw(st.integers(min_value=1, max_value=10_000))) / Decimal(
        draw(st.sampled_from([1, 3, 7, 10, 100]))
    )
    order = draw(st.permutations(range(len(net_paid))))
    # the units come back in some order, in groups (one return each)
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=len(net_paid)), max_size=5)))
    returns, start = [], 0
    for cut in [*cuts, len(net_paid)]:
        if cut > start:
            returns.append(order[start:cut])
            start = cut
    partial = draw(st.booleans())
    if partial and len(returns) > 1:
        returns = returns[: draw(st.integers(min_value=1, max_value=len(returns) - 1))]
    return [Decimal(n) / 100 for n in net_paid], earned, redeemed, rate, returns, partial


@given(orders_and_returns())
def test_reversal_never_exceeds_and_totals_exactly(case):
    net_paid, earned, redeemed, rate, returns, _partial = case
    # given the points split over the units at intake
    e = loyalty_split(earned, net_paid, "INR")
    r = loyalty_split(redeemed, net_paid, "INR")
    assert sum(e) == earned
    assert sum(r) == redeemed
    assert all(x >= 0 for x in e + r)
    tender = loyalty_value(redeemed, rate, "INR")
    # when the units come back return by return
    reversed_, given_back, money, before = 0, 0, Decimal("0.00"), 0
    for units in returns:
        points = sum(r[u] for u in units)
        money += points_money(before, points, rate, "INR")
        before += points
        reversed_ += sum(e[u] for u in units)
        given_back += points
        # then never more than the order earned or redeemed, nor the tender
        assert reversed_ <= earned
        assert given_back <= redeemed
        assert Decimal("0") <= money <= tender
    if sum(len(u) for u in returns) == len(net_paid):
        # and once all is back, exactly everything
        assert (reversed_, given_back, money) == (earned, redeemed, tender)


@given(
    st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=10**6),
)
def test_shares_follow_net_paid(net_paid_minor, points):
    net_paid = [Decimal(n) / 100 for n in net_paid_minor]
    shares = loyalty_split(points, net_paid, "INR")
    total = sum(net_paid_minor)
    for share, n in zip(shares, net_paid_minor, strict=True):
        # largest remainder: each share is the exact proportion rounded down or up
        exact = Decimal(points) * n / total
        assert exact - 1 < share < exact + 1
