"""Token limits hold across function containers, on a real Valkey, through the local gateway.

Every stack here runs several function containers (fdk processes) behind the
gateway, with the local OCI Cache (dev/local/cache.py): a real valkey-server,
its IAM sign-in and the CreateIdentityToken emulator. Nothing is faked in
process: the counters are Valkey's, what the store ran is Valkey's own
INFO commandstats, the usage is the emulator's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from dev import image_site as site
from dev.local.cache import LocalCache
from dev.local.credentials import Issuer
from dev.local.emulator import Emulator
from dev.local.stack import Stack

pytestmark = pytest.mark.integration

MODEL = "openai.gpt-oss-120b"
PROBE_FUNCTION = Path(__file__).parent / "functions" / "modules_probe.py"
#: Every request of these tests: body ~90 bytes (an estimate of 23 input tokens), output capped at 8.
REQUEST = {"model": MODEL, "input": "count these five words", "max_output_tokens": 8}
#: The store's timeout for tests that are not about a slow store: on a loaded 2-core machine a round trip
#: can take longer than the 250 ms default, and the call would then (rightly) fail open and go uncounted.
PATIENT = {"GENAI_LIMIT_STORE_TIMEOUT_MS": "5000"}


@pytest.fixture
def cache(issuer: Issuer) -> Iterator[LocalCache]:
    with LocalCache(issuer) as started:
        yield started


def key_client(stack: Stack, name: str) -> httpx.Client:
    client = stack.client(auth=False, timeout=30)
    client.headers["Authorization"] = f"Bearer {stack.client_keys.keys[name]}"
    return client


def generate(client: httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/v1/responses", json={**REQUEST, **fields})


def reservation(body: dict[str, Any]) -> int:
    """What one call reserves: its output cap plus its body's bytes / 4 (genai_fn/limits BYTES_PER_TOKEN)."""
    size = len(json.dumps(body).encode())  # httpx's json= encoding: json.dumps, default separators
    return int(body["max_output_tokens"]) + -(-size // 4)


def total(answer: httpx.Response) -> int:
    usage = answer.json()["usage"]
    return int(usage["input_tokens"]) + int(usage["output_tokens"])


def test_concurrent_clients_on_several_containers_stay_within_the_documented_bound(
    make_stack: Callable[..., Stack], cache: LocalCache, emulator: Emulator
) -> None:
    limit = 400
    # A day's quota: the counters of a minute would split if the test ran across a minute's end.
    stack = make_stack(
        containers=3,
        cache=cache,
        config=PATIENT,
        api_clients={"alice": {"token_quota": limit, "token_quota_period": "day"}},
    )
    clients = [key_client(stack, "alice") for _ in range(6)]
    before = len(emulator.calls)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def hammer(client: httpx.Client) -> None:
        for _ in range(12):
            answer = generate(client)
            with lock:
                answers.append(answer)

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(hammer, clients))

    admitted = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(admitted) + len(refused) == len(answers), {a.status_code for a in answers}
    assert admitted and refused
    spent = sum(total(a) for a in admitted)
    # docs/clients.md: what a window admits stays below its limit plus one call's reservation.
    assert limit <= spent < limit + reservation(REQUEST), (spent, len(admitted))
    # Every reservation was settled to the usage the answers reported: the store holds exactly that.
    (counter,) = cache.counters().values()
    assert counter == spent
    # The refused calls never reached the model.
    assert len(emulator.calls) - before == len(admitted)
    # The function's cache user has the Terraform ACL's commands only, and was never refused one.
    with cache.admin() as admin:
        assert admin.execute_command("ACL", "LOG") == []
    body = refused[-1].json()["error"]
    assert (body["code"], body["type"]) == ("token_limit_exceeded", "tokens")
    assert refused[-1].headers["x-ratelimit-remaining-tokens"] == "0"
    assert refused[-1].headers["x-ratelimit-limit-tokens"] == str(limit)
    assert int(refused[-1].headers["retry-after"]) >= 1


def test_a_refused_call_sends_nothing_upstream_and_says_when_to_retry(
    make_stack: Callable[..., Stack], cache: LocalCache, emulator: Emulator
) -> None:
    stack = make_stack(containers=2, cache=cache, config=PATIENT, api_clients={"alice": {"tokens_per_minute": 1}})
    alice = key_client(stack, "alice")
    first = generate(alice)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] == "1"
    assert first.headers["x-ratelimit-remaining-tokens"] == "0"
    assert first.headers["x-ratelimit-reset-tokens"].endswith("s")
    before = len(emulator.calls)

    refused = generate(alice)
    chat = alice.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    simple = alice.post("/", content=b"hello", headers={"content-type": "text/plain"})

    for answer in (refused, chat, simple):
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["code"] == "token_limit_exceeded"
        assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert len(emulator.calls) == before
    # A direct invocation (`fn invoke`, no gateway, no client) is the operator's: not limited.
    assert stack.runner.invoke("POST", "/", body=b"hello", gateway=False).status == 200
    # Not a generating call: not limited, and no store round trip for it.
    calls = cache.command_calls()
    assert alice.get("/v1/models").status_code == 200
    assert cache.command_calls().get("evalsha") == calls.get("evalsha")


def test_counters_survive_a_container_restart(make_stack: Callable[..., Stack], cache: LocalCache) -> None:
    stack = make_stack(
        containers=2,
        cache=cache,
        config=PATIENT,
        api_clients={"alice": {"token_quota": 10_000, "token_quota_period": "day"}},
    )
    alice = key_client(stack, "alice")
    used = total(generate(alice)) + total(generate(alice))
    tokens = cache.tokens_issued
    for runner in stack.runners:
        runner.restart()

    after = generate(alice)

    assert after.status_code == 200
    assert after.headers["x-ratelimit-remaining-tokens"] == str(10_000 - used - total(after))
    assert cache.tokens_issued == tokens + 1  # the new container signed in with a token of its own


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_a_stopped_store_gives_the_configured_behaviour(
    make_stack: Callable[..., Stack], cache: LocalCache, emulator: Emulator, mode: str
) -> None:
    stack = make_stack(
        containers=2,
        cache=cache,
        config={**PATIENT, "GENAI_LIMIT_FAILURE_MODE": mode},
        api_clients={"alice": {"tokens_per_minute": 100_000}},
    )
    alice = key_client(stack, "alice")
    assert generate(alice).status_code == 200
    cache.stop_server()
    before = len(emulator.calls)

    answers = [generate(alice) for _ in range(2)]

    lines = [line for runner in stack.runners for line in runner.invocations() if line["status"] in (200, 502)]
    if mode == "open":
        assert [a.status_code for a in answers] == [200, 200]
        assert "x-ratelimit-limit-tokens" not in answers[-1].headers  # nothing is known of the window
        assert len(emulator.calls) == before + 2
    else:
        assert [a.status_code for a in answers] == [502, 502]
        assert answers[-1].json()["error"]["code"] == "limit_store_unavailable"
        assert len(emulator.calls) == before
    assert [line["limit"] for line in lines[-2:]] == ["store_unavailable"] * 2

    cache.start_server()
    assert generate(alice).status_code == 200  # a new connection, signed in with the same token


def test_the_token_is_renewed_ahead_of_expiry_without_a_call_waiting_for_it(
    make_stack: Callable[..., Stack], issuer: Issuer
) -> None:
    import time

    # Tokens of 6 s: renewed from 4.5 s on (three quarters), usable until 5.4 s (a tenth of their life).
    with LocalCache(issuer, token_lifetime_s=6) as cache:
        stack = make_stack(
            containers=1, cache=cache, config=PATIENT, api_clients={"alice": {"tokens_per_minute": 1_000_000}}
        )
        alice = key_client(stack, "alice")
        assert generate(alice).status_code == 200
        assert (cache.tokens_issued, cache.sign_ins) == (1, 1)
        deadline = time.monotonic() + 30
        while cache.tokens_issued < 2 and time.monotonic() < deadline:  # the event: a second token issued
            assert generate(alice).status_code == 200
        assert cache.tokens_issued == 2
        # Every call so far was limited as usual while the renewal ran beside them.
        lines = stack.runner.invocations()
        assert {line["limit"] for line in lines} == {"ok"}
        # The connection signed in with the old token was dropped: the next call signs in with the new one.
        while cache.sign_ins < 2 and time.monotonic() < deadline:
            assert generate(alice).status_code == 200
        assert cache.sign_ins == 2 and not cache.refused
        # No token (nor the password made of it) in any line the function wrote.
        written = "\n".join(stack.runner.lines())
        assert not [token for token, _ in cache._tokens if token.split(".")[2][:20] in written]


def test_a_hanging_store_costs_a_call_one_timeout_not_the_deadline(
    make_stack: Callable[..., Stack], cache: LocalCache
) -> None:
    stack = make_stack(
        containers=1,
        cache=cache,
        config={"GENAI_LIMIT_STORE_TIMEOUT_MS": "100"},
        api_clients={"alice": {"tokens_per_minute": 100_000}},
    )
    alice = key_client(stack, "alice")
    assert generate(alice).status_code == 200  # connected and signed in
    cache.pause_server()
    try:
        answer = generate(alice)
    finally:
        cache.resume_server()
    assert answer.status_code == 200
    line = stack.runner.invocations()[-1]
    assert line["limit"] == "store_unavailable"
    problem = stack.runner.wait_for_line(lambda text: '"event":"limit_store_unavailable"' in text)
    assert "Timeout" in problem


def test_a_client_without_limits_never_touches_the_store(make_stack: Callable[..., Stack], cache: LocalCache) -> None:
    stack = make_stack(
        containers=2, cache=cache, config=PATIENT, api_clients={"alice": {"tokens_per_minute": 1000}, "bob": {}}
    )
    before = cache.command_calls()
    bob = key_client(stack, "bob")

    answers = [generate(bob), generate(bob, stream=True)]
    answers.append(
        bob.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    )

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not any("x-ratelimit-limit-tokens" in a.headers for a in answers)
    after = cache.command_calls()
    # Valkey ran no script, and no function signed in (the gate counts sign-ins) or asked for a token.
    assert {c: after.get(c) for c in ("evalsha", "eval")} == {c: before.get(c) for c in ("evalsha", "eval")}
    assert (cache.sign_ins, cache.tokens_issued) == (0, 0)
    # alice is limited: her call is the store's first from a function.
    assert generate(key_client(stack, "alice")).headers["x-ratelimit-limit-tokens"] == "1000"
    assert cache.command_calls().get("evalsha", 0) + cache.command_calls().get("eval", 0) > 0


def test_streams_settle_to_their_final_usage(make_stack: Callable[..., Stack], cache: LocalCache) -> None:
    stack = make_stack(
        containers=1,
        cache=cache,
        config=PATIENT,
        api_clients={"alice": {"token_quota": 5000, "token_quota_period": "day"}},
    )
    alice = key_client(stack, "alice")
    streamed = generate(alice, stream=True)
    assert streamed.status_code == 200
    final = [json.loads(line[5:]) for line in streamed.text.splitlines() if line.startswith("data:")][-1]
    usage = final["response"]["usage"]
    (counter,) = cache.counters().values()
    assert counter == usage["input_tokens"] + usage["output_tokens"]


def test_without_a_limit_the_function_imports_no_store_client(
    make_stack: Callable[..., Stack], cache: LocalCache
) -> None:
    """Cold start with no limit: no valkey module, no store call; with one, the probe sees the import."""
    stack = make_stack(containers=0, gateway=False, config={"GENAI_ALLOWED_MODELS": "*"})
    headers = {"content-type": "application/json", "X-GenAI-Client": "alice"}
    with stack.new_runner(func_path=PROBE_FUNCTION, site_dir=site.build(), entrypoint=None) as plain:
        assert plain.invoke("POST", "/v1/responses", body=json.dumps(REQUEST).encode(), headers=headers).status == 200
        assert json.loads(plain.invoke("GET", "/v1/__modules/valkey").body) == []
    limited = {**cache.function_config(), **PATIENT, "GENAI_TOKENS_PER_MINUTE": "1000"}
    with stack.new_runner(limited, func_path=PROBE_FUNCTION, site_dir=site.build(), entrypoint=None) as runner:
        assert json.loads(runner.invoke("GET", "/v1/__modules/valkey").body) == []  # not at start either
        assert runner.invoke("POST", "/v1/responses", body=json.dumps(REQUEST).encode(), headers=headers).status == 200
        assert "valkey" in json.loads(runner.invoke("GET", "/v1/__modules/valkey").body)


def test_make_usage_shows_each_limited_clients_window_from_the_local_store(
    make_stack: Callable[..., Stack], cache: LocalCache, tmp_path: Path
) -> None:
    import time

    from dev.local.cache import limits_table
    from dev.local.stack import check_config
    from ops.usage import limit_windows

    clients = {"alice": {"token_quota": 5000, "token_quota_period": "day"}, "bob": {}}
    stack = make_stack(
        containers=1, cache=cache, api_clients=clients, config={**PATIENT, "GENAI_TOKENS_PER_MINUTE": "900"}
    )
    spent = total(generate(key_client(stack, "alice")))
    state = tmp_path / "limits.json"
    cache.write_state(state, limits_table(check_config(stack.config)))

    lines = limit_windows(state, time.time())

    rows = [line.split() for line in lines[3:]]
    alice = {row[1]: row[2:5] for row in rows if row[0] == "alice"}
    # alice's own quota, and the deployment's per-minute default she gets as every client does.
    assert alice == {"minute": [str(spent), "900", str(900 - spent)], "day": [str(spent), "5000", str(5000 - spent)]}
    assert next(row for row in rows if row[0] == "bob")[:5] == ["bob", "minute", "0", "900", "900"]
