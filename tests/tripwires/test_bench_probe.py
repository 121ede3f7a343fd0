"""Tripwire: the benchmark's probe (dev/bench/probe.py) still runs, and still measures what it says.

The probe reaches into the project's internals (`func.service`, `genai_fn.upstream.Upstream.http`,
`genai_fn.upstream.Upstream.send`, `genai_fn.upstream.Outbound`, `genai_fn.retry.Rule`,
`genai_fn.deadline.Budget`, `genai_fn.logs.CallRecord`, `genai_fn.sdk_import.import_signer`) and into
the naive baseline's `dev/bench/naive/func.py`'s `build_client`; a refactor or an upgrade that moves any of them
would otherwise only show up as a crash in `make bench`. The floor (floor/func.py,
fdk and a fixed answer) is run the same way, and must not reach the upstream. The proxy floor
(proxy_floor/func.py, its own signature and one `http.client` connection) must reach it, signed
as the SDK signs: the emulator checks every signature, so a proxy floor measuring 401s fails here. It is run here as
`make bench` runs it (dev/bench/__main__.py, `cold`): `python -S` in a fresh process, on the dependency folder
the image would hold, against the emulated service, signed by the emulated
resource principal.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from dev import image_site as site
from dev.bench.__main__ import ROUTES, SIZES, SUBJECTS, Route, Subject, container, func_for, timed
from dev.bench.floor.func import ANSWER as FLOOR_ANSWER
from dev.bench.proxy_floor.func import Proxy
from dev.bench.split import split
from dev.local.credentials import new_rsa_key
from dev.local.emulator import Emulator
from dev.local.runner import FnRunner

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = ROOT / "dev" / "bench" / "probe.py"
# The benchmark's own subjects: the function, and whether its dependency folder is trimmed.
KINDS = {subject.name: (subject.func, subject.trimmed) for subject in SUBJECTS}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_probe_times_each_phase_and_makes_one_signed_request(
    kind: str, function_env: dict[str, str], emulator: Emulator
) -> None:
    func, trimmed = KINDS[kind]
    dependencies = site.build(trimmed=trimmed)
    before = len(emulator.calls)

    out = subprocess.run(
        [sys.executable, "-S", str(PROBE), kind, str(func)],
        env={**function_env, "GENAI_LOG_LEVEL": "WARNING", "PYTHONPATH": f"{func.parent}{os.pathsep}{dependencies}"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if kind == "floor":
        # Imports only (fdk and the handler's file): no client, no request.
        assert set(figures) == {"imports_ms", "modules"}
        assert isinstance(figures["imports_ms"], float) and figures["imports_ms"] > 0, figures
        assert isinstance(figures["modules"], int) and figures["modules"] > 10, figures
        assert emulator.calls[before:] == []
        return
    assert set(figures) == {"imports_ms", "construction_ms", "first_request_ms", "modules"}
    for key in ("imports_ms", "construction_ms", "first_request_ms"):
        assert isinstance(figures[key], float), key
        assert math.isfinite(figures[key]) and figures[key] > 0, (key, figures[key])
    # fdk, the function, openai and the signer are all loaded by the first answer.
    assert isinstance(figures["modules"], int) and figures["modules"] > 100, figures["modules"]

    (call,) = emulator.calls[before:]
    assert (call.method, call.path.rsplit("/", 1)[-1], call.status) == ("POST", "responses", 200), call
    assert call.jti, "the request was not signed by the resource principal"
    assert call.body["model"] == "openai.gpt-oss-120b"


def test_every_route_workload_runs_on_every_subject(make_stack, emulator: Emulator) -> None:
    """The benchmark's route and size rows (dev/bench/__main__.py ROUTES, SIZES), once each, as `make bench`
    runs them: naive/routes.py reaches into the SDK's Chat Completions, Conversations and streaming API.
    The floor runs the route rows (it has no size rows) and answers them itself: no upstream time is
    subtracted from its latency, because it makes no upstream call."""
    # The bench's own platform deadline (Stack's default), not the tests' 30 s: what this checks is that every
    # workload runs, and a cold container on the full SDK beside other test workers can take longer than 30 s.
    stack = make_stack(containers=0, gateway=False, timeout_s=120.0, config={"GENAI_LOG_LEVEL": "WARNING"})
    for subject in SUBJECTS:
        dependencies = site.build(trimmed=subject.trimmed)
        # One container per function file, its rows one after another: what is checked is that each workload
        # runs and is signed, not a cold start per row, which costs a process start each (the naive ones the
        # full SDK's import).
        rows: dict[Path, list[Route]] = {}
        for row in (*ROUTES, *SIZES) if subject.upstream else ROUTES:
            rows.setdefault(func_for(subject, row), []).append(row)
        for func, same_func in rows.items():
            with container(stack, subject, dependencies, func) as runner:
                for row in same_func:
                    _check_workload(runner, emulator, subject, row)


def _check_workload(runner: FnRunner, emulator: Emulator, subject: Subject, row: Route) -> None:
    """One row's workload on a running container: every answer 200, every upstream call signed (none for the floor)."""
    before = len(emulator.calls)
    answers = row.workload(runner, subject.upstream)  # exits with the status and body on any failure
    assert answers and all(a.status == 200 for a in answers), (subject.name, row.key)
    called = emulator.calls[before:]
    if subject.upstream:
        assert called and all(c.jti for c in called), (subject.name, row.key, "unsigned")
    else:
        assert called == [] and {a.body.decode() for a in answers} == {FLOOR_ANSWER}, (subject, row.key)
    # As the bench counts it: the emulator's time is that of the calls the workload caused.
    latency, service = timed(runner, emulator, row.workload, subject.upstream)
    assert latency > 0 and (service > 0) == subject.upstream, (subject.name, row.key, service)


def test_split_reads_each_part_of_a_warm_call_from_the_log_lines(make_stack, emulator: Emulator) -> None:
    """dev/bench/split.py (the profile behind the warm splits in dev/bench/results.md) still finds the function's
    invocation log lines (`latency_ms`, `upstream_ms`) for every route and runs the floor beside it."""
    stack = make_stack(containers=0, gateway=False, config={"GENAI_LOG_LEVEL": "WARNING"})

    rows = dict(split(stack, emulator, calls=2))

    assert set(rows) == {"responses", *(route.key for route in ROUTES)}
    for key, parts in rows.items():
        assert set(parts) == {"socket", "fdk", "function", "attempt", "floor"}, key
        # Every part is a median of real readings: fdk's, the upstream attempt's and the floor's take time.
        assert all(math.isfinite(v) for v in parts.values()), (key, parts)
        assert parts["fdk"] > 0 and parts["attempt"] > 0 and parts["floor"] > 0, (key, parts)


def test_proxy_floor_signs_as_the_sdk_signs_and_the_emulator_accepts_it(
    function_env: dict[str, str], emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy floor's signature (`cryptography` directly) is byte for byte the one oci-genai-auth's
    `OciResourcePrincipalAuth` makes for the same request and date, the emulator accepts it, and the
    emulator refuses the same request signed with another key: its 200s are not unchecked."""
    for name, value in function_env.items():
        monkeypatch.setenv(name, value)
    from oci_genai_auth import OciResourcePrincipalAuth

    proxy = Proxy()
    body = json.dumps({"model": "openai.gpt-oss-120b", "input": "Hello"}).encode()
    date = formatdate(usegmt=True)
    ours = proxy.headers("POST", f"{proxy.prefix}/responses", body, "application/json", date)
    request = httpx.Request(
        "POST",
        f"{function_env['GENAI_BASE_URL']}/responses",
        content=body,
        headers={"content-type": "application/json", "date": date},
    )
    flow = OciResourcePrincipalAuth().sync_auth_flow(request)
    sdk = next(flow)
    flow.close()
    assert 'keyId="ST$' in ours["authorization"] and ours["authorization"].startswith("Signature "), ours[
        "authorization"
    ][:60]
    for name in ("authorization", "x-content-sha256", "content-length", "host", "date"):
        assert ours[name] == sdk.headers[name], name

    before = len(emulator.calls)
    status, content_type, answer = proxy.send("POST", "/responses", body, "application/json")
    (call,) = emulator.calls[before:]
    assert (status, call.status) == (200, 200), answer[:300]
    assert call.jti and content_type.startswith("application/json") and json.loads(answer)["object"] == "response"

    proxy.key = new_rsa_key()
    status, _, answer = proxy.send("POST", "/responses", body, "application/json")
    assert status == 401 and b"signature does not verify" in answer, answer[:300]
