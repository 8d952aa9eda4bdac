"""oms.negotiation: the short way gives what DRF's own negotiation gives."""

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from oms.negotiation import ContentNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


@pytest.mark.parametrize(
    ("accept", "query", "suffix"),
    [
        (None, "", None),
        ("*/*", "", None),
        ("application/json", "", None),
        (" application/json ", "", None),
        ("text/html", "", None),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "", None),
        ("application/json; indent=4", "", None),
        ("*/*", "format=api", None),
        ("*/*", "", "api"),
        ("application/json", "", "json"),
        ("", "", None),  # present but blank: DRF answers 406
    ],
)
def test_the_same_renderer_and_media_type_as_drf(accept, query, suffix):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    request = Request(APIRequestFactory().get(f"/api/v1/orders/x/?{query}", **headers))

    def outcome(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, RENDERERS, suffix)
        except NotAcceptable:
            return "406"
        return type(renderer), media_type

    assert outcome(ContentNegotiation()) == outcome(DefaultContentNegotiation())


def test_it_is_the_apis_negotiation():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ContentNegotiation
