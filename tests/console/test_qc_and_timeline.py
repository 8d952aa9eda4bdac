"""The QC form presets nothing and keeps what was entered when a result is
refused; the timeline reads newest first, grouped, one row per change."""

import pytest

from flows.return_intake import return_create
from returns.services import ItemRequest, ReturnRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(order, actor, login):
    units = list(order.units.order_by("pk"))
    ret = return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[
                ItemRequest(unit=u.pk, reason="changed_mind", resolution="refund") for u in units
            ],
        ),
        actor=actor,
    )
    login("agent", username="agent-p").post(
        f"/console/returns/{ret.rma}/events/", {"type": "pickup_completed"}
    )
    c = login("warehouse")
    c.post(f"/console/returns/{ret.rma}/events/", {"type": "received", "location": "wh-main"})
    return ret, units, c


def test_qc_form_preselects_no_result(received):
    ret, units, c = received
    body = c.get(f"/console/returns/{ret.rma}/").content.decode()
    for u in units:
        assert f'name="u{u.pk}-passed"' in body
    assert 'value="1" selected' not in body
    assert "Not inspected yet" in body


def test_invalid_disposition_is_shown_next_to_its_unit_and_entries_are_kept(received):
    ret, units, c = received
    first, _second, third = units
    r = c.post(
        f"/console/returns/{ret.rma}/events/",
        {
            "type": "qc_result",
            f"u{first.pk}-passed": "1",
            f"u{first.pk}-notes": "tags on, clean",
            f"u{third.pk}-passed": "0",
            f"u{third.pk}-disposition": "quarantine",
            f"u{third.pk}-notes": "stained collar",
        },
    )
    assert r.status_code == 400
    body = r.content.decode()
    assert "results[" not in body
    assert "A unit that failed QC goes back to the customer." in body
    # the error sits in the third unit's fieldset
    block = body.split(f'id="qc-unit-{third.pk}"', 1)[1].split("</fieldset>", 1)[0]
    assert "goes back to the customer" in block
    assert "stained collar" in block
    assert 'value="quarantine" selected' in block
    first_block = body.split(f'id="qc-unit-{first.pk}"', 1)[1].split("</fieldset>", 1)[0]
    assert "tags on, clean" in first_block
    assert "goes back" not in first_block
    # nothing was recorded
    assert not ret.items.filter(qc_passed__isnull=False).exists()


def test_no_result_chosen_is_an_error_not_a_pass(received):
    ret, units, c = received
    r = c.post(f"/console/returns/{ret.rma}/events/", {"type": "qc_result"})
    assert r.status_code == 400
    assert b"Choose passed or failed" in r.content
    for u in units:
        u.refresh_from_db()
        assert u.state == "returned"


def test_timeline_newest_first_grouped_with_one_row_for_several_units(received, login):
    ret, units, _ = received
    order = ret.order
    body = login("agent", username="agent-t").get(f"/console/orders/{order.number}/")
    html = body.content.decode()
    assert "times in <strong>IST, Asia/Kolkata</strong>" in html
    groups = body.context["timeline"]
    labels = [g.label for g in groups]
    assert f"Return {ret.rma}" in labels
    assert any(label.startswith("Shipment ") for label in labels)
    # the most recently active group is the return, newest row first
    assert groups[0].label == f"Return {ret.rma}"
    times = [r.occurred_at for r in groups[0].rows]
    assert times == sorted(times, reverse=True)
    # three units requested together: one row naming the three
    requested = [r for r in groups[0].rows if r.to_state == "return_requested"]
    assert len(requested) == 1
    assert sorted(requested[0].units) == sorted(u.pk for u in units)
    assert "3 units: Delivered → Return requested" in html
