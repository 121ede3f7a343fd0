"""`python -m dev.bench.authorizer 2>/dev/null`: the authorizer's own work per call, in-process (prints numbers).

API Gateway calls authorizer/func.py before every request whose answer it has
not cached, so its own work is on the request path. This times `handler`
through fdk's in-process fixture (no socket) over N calls of each kind, with a
configuration of 20 clients of two keys each (40 hashes compared per call):
a known key, an unknown key and a malformed body. The fixture's own cost is
included, so the figures are an upper bound of the handler's; its log lines go
to stderr (hence 2>/dev/null), as in OCI, and are part of the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import time
from typing import Any

from fdk import fixtures

from authorizer import keys
from dev.local.runner import ROOT, load_source


def _time_calls(handler: Any, body: bytes, n: int) -> list[float]:
    async def one() -> None:
        pending = await fixtures.setup_fn_call(handler, content=io.BytesIO(body))
        await pending

    async def run() -> list[float]:
        took = []
        for _ in range(n):
            started = time.perf_counter()
            await one()
            took.append(time.perf_counter() - started)
        return took

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.bench.authorizer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    known = keys.new_key()
    hashes = [f"client{i}:{keys.hash_key(keys.new_key())}" for i in range(39)] + [f"client39:{keys.hash_key(known)}"]
    os.environ["API_KEY_HASHES"] = ",".join(hashes)
    # Loaded once the configuration is set: the function reads it as it is imported, as a container does.
    func = load_source(ROOT / "authorizer" / "func.py", "authorizer_func_bench")
    kinds = {
        "known key": json.dumps({"type": "USER_DEFINED", "data": {"authorization": f"Bearer {known}"}}).encode(),
        "unknown key": json.dumps(
            {"type": "USER_DEFINED", "data": {"authorization": f"Bearer {keys.new_key()}"}}
        ).encode(),
        "malformed": b"{not json",
    }
    print(f"authorizer handler in-process through fdk's fixture, {args.calls} calls each, 40 configured hashes")
    for kind, body in kinds.items():
        took = sorted(_time_calls(func.handler, body, args.calls))
        median, p99 = statistics.median(took) * 1e3, took[int(len(took) * 0.99) - 1] * 1e3
        print(f"  {kind:12s} median {median:.3f} ms  p99 {p99:.3f} ms  mean {statistics.fmean(took) * 1e3:.3f} ms")
    # decide() alone: the authorizer's own work, without fdk's request and response objects.
    started = time.perf_counter()
    for _ in range(args.calls):
        func.decide(kinds["known key"], func.config)
    print(f"  decide() alone, known key: {(time.perf_counter() - started) / args.calls * 1e3:.3f} ms per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
