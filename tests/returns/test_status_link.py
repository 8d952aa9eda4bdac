"""The status link in return emails is what reverse() gives, worked out once."""

import pytest
from django.conf import settings
from django.urls import reverse

from returns.messages import status_link


@pytest.mark.parametrize("rma", ["RMA-8D23AJZC", "RMA-1", "odd rma é?#+"])
def test_status_link_is_the_reversed_portal_url(rma):
    assert status_link(rma) == settings.OMS_PUBLIC_URL + reverse("portal:return", args=[rma])
