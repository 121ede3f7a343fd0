"""Token limits' cost: the project's function with a limit on, beside the same function with none.

    python -m dev.bench.limits [--calls 200] [--cold 5]     # standalone; `make bench` runs it too

On one local OCI Cache (dev/local/cache.py: a real valkey-server and its IAM
sign-in), two warm containers of the project's function, one with
GENAI_TOKENS_PER_MINUTE set (every call reserves and settles: two store round
trips) and one without, take turns in blocks of calls; then fresh containers
of each answer one first call (with a limit: the valkey import, the identity
token, the connection and the sign-in are in it). It prints numbers and
asserts none.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from dev import image_site as site
from dev.local.cache import LocalCache
from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import FnRunner
from dev.local.stack import Stack

ROOT = Path(__file__).resolve().parent.parent.parent
BODY = b'{"model": "openai.gpt-oss-120b", "input": "Hello, how are you?"}'
#: A call through the gateway naming its client, as the function sees it (genai_fn/clients.py).
HEADERS = {"content-type": "application/json", "X-GenAI-Client": "bench"}
BLOCK = 10


def one(runner: FnRunner, emulator: Emulator) -> float:
    """Latency over fdk's socket minus the emulator's own service time, in ms."""
    before = len(emulator.calls)
    answer = runner.invoke("POST", "/v1/responses", headers=HEADERS, body=BODY)
    if answer.status != 200:
        raise SystemExit(f"status {answer.status}: {answer.body[:300]!r}")
    return answer.elapsed_s * 1000 - sum(c.service_ms for c in emulator.calls[before:])


def measure(stack: Stack, cache: LocalCache, dependencies: Path, calls: int, cold: int) -> dict[str, float]:
    emulator = stack.emulator
    assert emulator is not None
    limited = {**cache.function_config(), "GENAI_TOKENS_PER_MINUTE": "10000000"}
    setups = {"off": {}, "on": limited}
    figures: dict[str, float] = {}
    overheads: dict[str, list[float]] = {k: [] for k in setups}
    boot = ["-m", "genai_fn.boot"]
    runners = {k: stack.new_runner(c, site_dir=dependencies, entrypoint=boot) for k, c in setups.items()}
    try:
        for runner in runners.values():
            runner.start()
            for _ in range(20):
                one(runner, emulator)
        while any(len(o) < calls for o in overheads.values()):
            for key, runner in runners.items():
                one(runner, emulator)  # after the other's turn: uncounted
                overheads[key] += [one(runner, emulator) for _ in range(BLOCK)]
            emulator.calls.clear()
        for key, runner in runners.items():
            assert runner.pid is not None
            figures[f"limits_{key}_peak_rss_mb"] = ProcessProbe.of(runner.pid).hwm_kb / 1024
    finally:
        for runner in runners.values():
            runner.stop()
    firsts: dict[str, list[float]] = {k: [] for k in setups}
    for _ in range(cold):
        for key, config in setups.items():
            with stack.new_runner(config, site_dir=dependencies, entrypoint=boot) as runner:
                firsts[key].append(one(runner, emulator))
    for key in setups:
        figures[f"limits_{key}_warm_ms"] = statistics.median(overheads[key])
        figures[f"limits_{key}_first_call_ms"] = statistics.median(firsts[key])
    return figures


ROWS = [
    ("limits_off_warm_ms", "no limit: warm overhead (ms, median)", ".2f"),
    ("limits_on_warm_ms", "a limit on: warm overhead (ms, median)", ".2f"),
    ("limits_off_first_call_ms", "no limit: first call of a container (ms)", ".0f"),
    ("limits_on_first_call_ms", "a limit on: first call of a container (ms)", ".0f"),
    ("limits_off_peak_rss_mb", "no limit: peak RSS after the warm calls (MB)", ".1f"),
    ("limits_on_peak_rss_mb", "a limit on: peak RSS after the warm calls (MB)", ".1f"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.bench.limits", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="warm calls per setup (default 200)")
    parser.add_argument("--cold", type=int, default=5, help="fresh containers per setup (default 5)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    dependencies = site.build()
    with Stack(containers=0, gateway=False, image=False, config={"GENAI_LOG_LEVEL": "WARNING"}) as stack:
        assert stack.issuer is not None
        with LocalCache(stack.issuer) as cache:
            figures = measure(stack, cache, dependencies, args.calls, args.cold)
    for key, label, fmt in ROWS:
        print(f"{label:45} {format(figures[key], fmt):>9}")
    print(f"limits bench: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
