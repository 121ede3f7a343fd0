"""Run in a fresh `python -S` process: time a function's start-up, phase by phase.

    python -S dev/bench/probe.py <project|naive|floor|proxy> <func.py>

Prints one JSON line: milliseconds spent importing (fdk, then the function
and every module its client needs), building the client, and making the first
request, plus the number of modules loaded after that request. The floor
(floor/func.py) has no client and makes no request: imports and modules only. The proxy
floor's (proxy_floor/func.py) client is its key, token and connection. The fdk
process itself cannot be instrumented without changing what is measured, so
the benchmark takes the split from this probe and the totals from fdk.
"""

import importlib.util
import json
import sys
import time

t0 = time.perf_counter()
kind, path = sys.argv[1], sys.argv[2]

import fdk  # noqa: E402,F401  - fdk is loaded before the function, as in the container

spec = importlib.util.spec_from_file_location("func", path)
assert spec is not None and spec.loader is not None, path
func = importlib.util.module_from_spec(spec)
spec.loader.exec_module(func)
if kind == "project":
    # The project imports the signer lazily, inside client construction: count it as an import.
    from genai_fn.sdk_import import import_signer

    import_signer()
t_import = time.perf_counter()
if kind == "floor":
    print(json.dumps({"imports_ms": (t_import - t0) * 1000, "modules": len(sys.modules)}))
    sys.exit(0)

body = {"model": "openai.gpt-oss-120b", "input": "Hello, how are you?"}
if kind == "project":
    from genai_fn import retry
    from genai_fn.deadline import Budget
    from genai_fn.logs import CallRecord
    from genai_fn.upstream import Outbound

    upstream = func.service.upstream()
    upstream.http()
    t_build = time.perf_counter()
    # The request the route table sends for POST /v1/responses: the body passed through as it came.
    out = Outbound(
        "POST", "/responses", retry.Rule.UNSENT_ONLY, content=json.dumps(body).encode(), content_type="application/json"
    )
    upstream.send(out, Budget.from_fn_deadline("", 1.0), CallRecord())
elif kind == "proxy":
    proxy = func.proxy()
    t_build = time.perf_counter()
    status, _, _ = proxy.send("POST", "/responses", json.dumps(body).encode(), "application/json")
    assert status == 200, status
else:
    client = func.build_client()
    t_build = time.perf_counter()
    client.responses.create(**body)
t_call = time.perf_counter()

print(
    json.dumps(
        {
            "imports_ms": (t_import - t0) * 1000,
            "construction_ms": (t_build - t_import) * 1000,
            "first_request_ms": (t_call - t_build) * 1000,
            "modules": len(sys.modules),
        }
    )
)
