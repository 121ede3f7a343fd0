"""What a signed upstream call costs, piece by piece, in-process: `python -m dev.bench.signing`.

`make bench` sets the project's function beside the proxy floor
(proxy_floor/func.py), which signs with `cryptography` directly and sends on
one `http.client` connection. This takes apart the difference, per call, in
one process against the local emulator (no fdk, no socket to the function):
  rsa            the RSA-2048 PKCS#1 v1.5 SHA-256 signature alone;
  sign direct    the proxy floor's whole signing: date, body digest, signing string, signature;
  sign sdk       oci-genai-auth's `OciResourcePrincipalAuth` signing an httpx request
                 (it copies it into a `requests` request, prepares it, and oci's signer signs it);
  sign narrow    what `genai_fn.auth.build_auth` gives a resource principal: the same library, signer and
                 refresh, with the signature made from the key the signer already holds;
  build httpx    `httpx.Client.build_request` of the function's request, unsigned;
  send http.client / send httpx
                 one request, signed once beforehand, sent on a kept-alive connection and
                 its answer read, minus the emulator's own service time: the transport alone
                 (httpx through the function's `BudgetTransport`, as the function sends);
  attempt        the function's whole `Upstream.send` and the proxy floor's `Proxy.send`,
                 minus the emulator's service time.
Medians and (min, max) of --rounds rounds of --calls calls each, in µs per call;
the pieces are timed in turns, round by round, so that a change in the machine's
load weighs on each alike.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from email.utils import formatdate

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from dev.local.stack import Stack

BODY = json.dumps({"model": "openai.gpt-oss-120b", "input": "Hello, how are you?"}).encode()
JSON = {"content-type": "application/json"}


def pieces(env: dict[str, str]) -> dict[str, Callable[[], float]]:
    """Each piece as a function that does it once and returns the emulator's service time in µs (0: none)."""
    os.environ.update(env)
    from oci_genai_auth import OciResourcePrincipalAuth

    from dev.bench.proxy_floor.func import Proxy
    from genai_fn import auth, retry, settings, transport
    from genai_fn.deadline import Budget
    from genai_fn.logs import CallRecord
    from genai_fn.upstream import Outbound, Upstream

    proxy = Proxy()
    sdk = OciResourcePrincipalAuth()
    narrow = auth.build_auth("resource_principal", env, "~/.oci/config", "DEFAULT")
    base = env["GENAI_BASE_URL"]
    client = httpx.Client(
        base_url=base, transport=transport.BudgetTransport(), headers={"OpenAI-Project": env["GENAI_PROJECT_OCID"]}
    )
    upstream = Upstream(settings.Settings.from_environ(env), env)
    out = Outbound("POST", "/responses", retry.Rule.UNSENT_ONLY, content=BODY, content_type="application/json")

    def service(headers: httpx.Headers | dict[str, str]) -> float:
        return float(headers.get("x-emulator-service-ms", 0)) * 1000

    def rsa() -> float:
        proxy.key.sign(b"x" * 400, padding.PKCS1v15(), hashes.SHA256())
        return 0.0

    def sign_direct() -> float:
        proxy.headers("POST", f"{proxy.prefix}/responses", BODY, "application/json", formatdate(usegmt=True))
        return 0.0

    def signer(signing: httpx.Auth) -> Callable[[], float]:
        def sign() -> float:
            flow = signing.sync_auth_flow(httpx.Request("POST", f"{base}/responses", content=BODY, headers=JSON))
            next(flow)
            flow.close()
            return 0.0

        return sign

    def build() -> float:
        client.build_request("POST", "/responses", content=BODY, headers=JSON)
        return 0.0

    signed = {
        **proxy.headers("POST", f"{proxy.prefix}/responses", BODY, "application/json", formatdate(usegmt=True)),
        "OpenAI-Project": proxy.project,
    }

    def send_http_client() -> float:
        proxy.connection.request("POST", f"{proxy.prefix}/responses", body=BODY, headers=signed)
        answer = proxy.connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
        return service(dict(answer.getheaders()))

    request = client.build_request("POST", "/responses", content=BODY, headers=signed)

    def send_httpx() -> float:
        answer = client.send(request)
        assert answer.status_code == 200, answer.status_code
        return service(answer.headers)

    def attempt_project() -> float:
        answer = upstream.send(out, Budget.from_fn_deadline("", 1.0), CallRecord())
        return service(answer.headers)

    def attempt_proxy() -> float:
        proxy.connection.request(
            "POST",
            f"{proxy.prefix}/responses",
            body=BODY,
            headers={
                **proxy.headers("POST", f"{proxy.prefix}/responses", BODY, "application/json", formatdate(usegmt=True)),
                "OpenAI-Project": proxy.project,
            },
        )
        answer = proxy.connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
        return service(dict(answer.getheaders()))

    return {
        "rsa": rsa,
        "sign direct": sign_direct,
        "sign sdk": signer(sdk),
        "sign narrow": signer(narrow),
        "build httpx": build,
        "send http.client": send_http_client,
        "send httpx": send_httpx,
        "attempt proxy": attempt_proxy,
        "attempt project": attempt_project,
    }


def measure(work: dict[str, Callable[[], float]], calls: int, rounds: int) -> dict[str, list[float]]:
    for piece in work.values():  # first use: connections opened, code loaded
        for _ in range(20):
            piece()
    per_call: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(rounds):
        for name, piece in work.items():
            started, served = time.perf_counter(), 0.0
            for _ in range(calls):
                served += piece()
            per_call[name].append(((time.perf_counter() - started) * 1e6 - served) / calls)
    return per_call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.bench.signing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per piece and round (default 200)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    args = parser.parse_args(argv)
    # The function logs at WARNING in the bench; some of these libraries would otherwise log every request.
    logging.disable(logging.INFO)
    with Stack(containers=0, gateway=False, image=False, config={"GENAI_LOG_LEVEL": "WARNING"}) as stack:
        per_call = measure(pieces(stack.env), args.calls, args.rounds)
    print(f"{'µs per call':18}{'median':>9}{'min':>9}{'max':>9}")
    for name, values in per_call.items():
        print(f"{name:18}{statistics.median(values):>9.0f}{min(values):>9.0f}{max(values):>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
