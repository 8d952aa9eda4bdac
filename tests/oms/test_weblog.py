"""oms.weblog: gunicorn's access line, built from the atoms its format uses."""

from __future__ import annotations

import datetime
import io
import logging

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from oms.weblog import Logger

ENVIRON = {
    "REQUEST_METHOD": "POST",
    "RAW_URI": "/api/v1/returns/?x=1",
    "PATH_INFO": "/api/v1/returns/",
    "QUERY_STRING": "x=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "10.1.2.3",
    "HTTP_REFERER": "https://shop.example/returns",
    "HTTP_USER_AGENT": 'storefront/2.1 "quoted"',
    "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0",  # alice:secret
    "HTTP_X_REQUEST_ID": "req-42",
    "wsgi.url_scheme": "http",
}


class Request:
    headers = [("HOST", "oms"), ("X-REQUEST-ID", "req-42"), ("AUTHORIZATION", "Basic x")]


class Response:
    status = "201 Created"
    sent = 312
    headers = [("Content-Type", "application/json"), ("X-Trace", "t-9")]


def _line(logger_class, fmt: str | None = None) -> str:
    cfg = Config()
    if fmt is not None:
        cfg.set("access_log_format", fmt)
    cfg.set("accesslog", "-")
    log = logger_class(cfg)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.access_log.handlers = [handler]
    log.access(Response(), Request(), dict(ENVIRON), datetime.timedelta(microseconds=48_250))
    return out.getvalue()


@pytest.mark.parametrize(
    "fmt",
    [
        None,  # gunicorn's default: %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"
        '%(h)s "%(r)s" %(s)s %(B)s %(m)s %(U)s %(q)s %(H)s %(T)s %(D)s %(M)s %(L)s %(p)s',
        # atoms naming headers or the environ: gunicorn's own logger builds them
        '%(h)s "%(r)s" %(s)s %({x-request-id}i)s %({x-trace}o)s %({wsgi.url_scheme}e)s',
    ],
)
def test_the_access_line_is_gunicorns(fmt, monkeypatch):
    # given gunicorn's logger and ours, the same request and format, at the same time
    monkeypatch.setattr(glogging.Logger, "now", lambda self: "[02/Dec/2026:20:19:51 +0000]")
    theirs = _line(glogging.Logger, fmt)
    ours = _line(Logger, fmt)
    # then both write the same line
    assert ours == theirs
    assert "10.1.2.3" in ours
    assert "POST /api/v1/returns/?x=1 HTTP/1.1" in ours


def test_the_default_line_names_the_basic_auth_user_and_escapes_quotes():
    line = _line(Logger)
    assert line.startswith("10.1.2.3 - alice [")
    assert '" 201 312 "https://shop.example/returns" "storefront/2.1 \\"quoted\\""' in line


def test_a_header_atom_is_still_filled():
    line = _line(Logger, "%({x-request-id}i)s %({x-trace}o)s")
    assert line.strip() == "req-42 t-9"


def test_gunicorn_conf_names_it():
    import runpy
    from pathlib import Path

    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert conf["logger_class"] == "oms.weblog.Logger"


class _Untouchable(dict):
    def items(self):
        raise AssertionError("the whole environ was walked")


def test_the_default_format_does_not_walk_the_environ_or_the_headers():
    class Headers:
        def __iter__(self):
            raise AssertionError("the headers were walked")

        def items(self):
            raise AssertionError("the headers were walked")

    class Req:
        headers = Headers()

    class Resp:
        status = "200 OK"
        sent = 10
        headers = Headers()

    cfg = Config()
    cfg.set("accesslog", "-")
    atoms = Logger(cfg).atoms(Resp(), Req(), _Untouchable(ENVIRON), datetime.timedelta(0))
    assert atoms["s"] == "200"
    assert atoms["h"] == "10.1.2.3"
    with pytest.raises(AssertionError):
        glogging.Logger(cfg).atoms(Resp(), Req(), _Untouchable(ENVIRON), datetime.timedelta(0))


def test_with_a_statsd_host_it_sends_gunicorns_metrics():
    import socket

    from gunicorn.instrument.statsd import Statsd

    from oms.weblog import StatsdLogger

    # given a statsd listener and the logger configured for it
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        cfg = Config()
        cfg.set("accesslog", "-")
        cfg.set("statsd_host", f"127.0.0.1:{listener.getsockname()[1]}")
        log = Logger(cfg)
        # then it is the statsd logger, and a request sends its duration
        assert isinstance(log, StatsdLogger)
        assert isinstance(log, Statsd)
        log.access_log.handlers = [logging.NullHandler()]
        log.access(Response(), Request(), dict(ENVIRON), datetime.timedelta(microseconds=48_250))
        try:
            assert listener.recv(512).startswith(b"gunicorn.request.duration:48.25|ms")
        finally:
            log.sock.close()
    # and without one it is the plain logger
    plain = Config()
    assert type(Logger(plain)) is Logger
