"""genai_fn.transport: the budget bounds every socket operation; the cap holds on decoded bytes.

The pace cases use a real server on 127.0.0.1 (tests/reliability/hostile.py) that trickles its
header bytes or stalls in its body: httpx's own timeouts alone would let either run far past the
budget, and these tests would then see an answer instead of the timeout.
"""

import gzip
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest

from genai_fn import transport
from genai_fn.deadline import Budget
from tests.reliability.hostile import HostileUpstream, Play, gzip_bomb, response_json


@pytest.fixture
def server() -> Iterator[HostileUpstream]:
    with HostileUpstream() as upstream:
        yield upstream


def client() -> httpx.Client:
    return httpx.Client(transport=transport.BudgetTransport(), timeout=30)


def test_the_transport_wraps_httpcores_backend():
    # The one private attribute this relies on (httpx and httpcore are pinned exactly).
    assert isinstance(transport.BudgetTransport()._pool._network_backend, transport._Backend)


def test_trickled_headers_end_with_the_budget(server):
    # 2,000 header bytes at 20 ms each: 40 s, every byte far inside the 30 s read timeout.
    server.play(Play(body=b"{}", headers=(("X-Pad", "p" * 2000),), trickle_s=0.02))
    with client() as http, transport.within(Budget(time.monotonic() + 0.5)), pytest.raises(httpx.ReadTimeout):
        http.get(server.base_url + "/responses/r")


def test_a_stalled_body_ends_with_the_budget(server):
    server.play(Play(body=response_json(), stall_after=5))
    budget = Budget(time.monotonic() + 0.5)
    with client() as http, transport.within(budget), pytest.raises(httpx.ReadTimeout):
        with http.stream("GET", server.base_url + "/responses/r") as response:
            transport.read_decoded(response, 1 << 20, budget)


def test_no_attempt_starts_on_a_spent_budget(server):
    with client() as http, transport.within(Budget(time.monotonic() - 1)), pytest.raises(httpx.ConnectTimeout):
        http.get(server.base_url + "/responses/r")
    assert server.seen == []


def test_outside_a_budget_the_client_is_unchanged(server):
    with client() as http:
        assert http.get(server.base_url + "/responses/r").json()["id"] == "resp_hostile"


def answer(body: bytes, coding: str = "") -> httpx.Response:
    return httpx.Response(200, headers={"content-encoding": coding} if coding else {}, stream=httpx.ByteStream(body))


FAR = Budget(time.monotonic() + 3600)


@pytest.mark.parametrize(
    "coding, encode",
    [
        ("", lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the standard says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw, as some servers send it
    ],
)
def test_answers_are_decoded(coding, encode):
    body = response_json("x" * 100_000)
    assert bytes(transport.read_decoded(answer(encode(body), coding), 1 << 20, FAR)) == body


def test_the_cap_holds_on_decoded_bytes():
    with pytest.raises(transport.TooLarge):
        transport.read_decoded(answer(gzip_bomb(64 << 20), "gzip"), 6_000_000, FAR)


@pytest.mark.parametrize(
    "coding, body",
    [
        ("br", b"\x0b\x02\x80hello\x03"),
        ("gzip, gzip", gzip.compress(gzip.compress(b"{}"))),
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(b"{}" * 1000)[:-20]),  # ends early
    ],
    # gzip stamps the time into its bytes: ids of their own keep the test's name the same in every
    # process (pytest-xdist's workers must collect the same names).
    ids=["br-not-asked-for", "gzip-twice", "not-gzip", "gzip-ends-early"],
)
def test_codings_not_asked_for_or_broken_are_refused(coding, body):
    with pytest.raises(transport.Undecodable):
        transport.read_decoded(answer(body, coding), 1 << 20, FAR)
