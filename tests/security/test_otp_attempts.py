"""A one-time code allows CODE_TRIES comparisons in all, however the guesses
interleave: taking a try is one conditional update, not a check then an
increment."""

import contextlib
import threading

import pytest
from django.db import connection
from django.utils import timezone

from portal import services
from portal.models import PortalVerification
from portal.services import CODE_TRIES, verification_check, verification_start


def _start(order, mailoutbox):
    verification = verification_start(order_number=order.number, contact=order.email)
    code = mailoutbox[-1].subject.rsplit(" ", 1)[-1]
    wrong = "000000" if code != "000000" else "111111"
    return verification, code, wrong


class _Interleaved:
    """``timezone`` for portal.services whose first ``now()`` runs ``during``:
    other requests that finish after this one read the row."""

    def __init__(self, during):
        self.during = during
        self.fired = False

    def now(self):
        if not self.fired:
            self.fired = True
            self.during()
        return timezone.now()


@pytest.mark.django_db
def test_guesses_made_while_one_is_in_flight_still_count(order_factory, mailoutbox, monkeypatch):
    order = order_factory()
    verification, code, wrong = _start(order, mailoutbox)

    def five_wrong_guesses():
        for _ in range(CODE_TRIES):
            assert verification_check(verification_id=verification.pk, code=wrong) is None

    # when the right code is checked while CODE_TRIES wrong guesses complete
    monkeypatch.setattr(services, "timezone", _Interleaved(five_wrong_guesses))
    result = verification_check(verification_id=verification.pk, code=code)
    # then it is refused: the tries were used up
    assert result is None
    verification.refresh_from_db()
    assert verification.attempts == CODE_TRIES
    assert verification.verified_at is None


@pytest.mark.django_db
def test_after_the_last_wrong_try_the_right_code_is_refused(order_factory, mailoutbox):
    order = order_factory()
    verification, code, wrong = _start(order, mailoutbox)
    for _ in range(CODE_TRIES):
        assert verification_check(verification_id=verification.pk, code=wrong) is None
    assert verification_check(verification_id=verification.pk, code=code) is None
    verification.refresh_from_db()
    assert verification.attempts == CODE_TRIES


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_get_at_most_code_tries_comparisons(
    order_factory, mailoutbox, monkeypatch
):
    order = order_factory()
    verification, code, wrong = _start(order, mailoutbox)
    threads_n = 12
    # every thread reads the row, then all go on together
    barrier = threading.Barrier(threads_n)

    class Together:
        @staticmethod
        def now():
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=10)
            return timezone.now()

    compared = []
    real_hash = services._hash

    def counting_hash(salt, guess):
        compared.append(guess)
        return real_hash(salt, guess)

    monkeypatch.setattr(services, "timezone", Together)
    monkeypatch.setattr(services, "_hash", counting_hash)
    results = []

    def guess():
        try:
            results.append(verification_check(verification_id=verification.pk, code=wrong))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    monkeypatch.undo()
    # then only CODE_TRIES guesses were compared, and the right code is refused
    assert results == [None] * threads_n
    assert len(compared) == CODE_TRIES
    assert PortalVerification.objects.get(pk=verification.pk).attempts == CODE_TRIES
    assert verification_check(verification_id=verification.pk, code=code) is None
