"""Where a warm call's time goes, from the function's own log lines: `python -m dev.bench.split`.

`make bench` measures a call from outside (over fdk's socket). This splits
the project's warm call, per route, into
  fdk          latency over the socket minus the handler's own time (the
               `latency_ms` of the function's invocation log line): fdk reading
               the call, building its context, writing the answer;
  function     the handler's time minus its upstream attempts (`upstream_ms`):
               parsing the request, the route table's checks, logging, the Response;
  attempt      upstream attempts minus the emulator's own service time: signing,
               httpx sending and reading, the loopback round trip;
and runs the floor (floor/func.py) alongside, whose whole latency is fdk's.
Medians over --calls calls per route, in one warm container each, at log level
INFO (the log line is what is read; writing it is counted in "function").
Log lines are rounded to 0.1 ms, so each part is good to about that.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from dev import image_site as site
from dev.bench.__main__ import FLOOR, ROUTES, SUBJECTS, Workload, invoke_ok, timed
from dev.local.emulator import Emulator
from dev.local.runner import FnRunner, PlatformResponse
from dev.local.stack import Stack


def responses(runner: FnRunner, upstream: bool = True) -> list[PlatformResponse]:
    """`make bench`'s main row: POST …/responses with a model and an input."""
    return [invoke_ok(runner)]


def split(stack: Stack, emulator: Emulator, calls: int) -> list[tuple[str, dict[str, float]]]:
    project = next(s for s in SUBJECTS if s.name == "project")
    workloads: list[tuple[str, Workload]] = [("responses", responses), *((r.key, r.workload) for r in ROUTES)]
    rows = []
    dependencies = site.build(trimmed=True)
    with (
        stack.new_runner({"GENAI_LOG_LEVEL": "INFO"}, site_dir=dependencies, entrypoint=project.entrypoint) as ours,
        stack.new_runner({}, func_path=FLOOR, site_dir=dependencies) as floor,
    ):
        for key, workload in workloads:
            parts: dict[str, list[float]] = {"socket": [], "fdk": [], "function": [], "attempt": [], "floor": []}
            for n in range(calls + 10):
                seen = len(ours.call_ids)
                latency, service = timed(ours, emulator, workload)
                lines = [ours.log_for(call_id) for call_id in list(ours.call_ids)[seen:]]
                handler = sum(line["latency_ms"] for line in lines)
                attempts = sum(line["upstream_ms"] for line in lines)
                floor_latency, _ = timed(floor, emulator, workload, False)
                if n >= 10:  # the first calls open connections and load code
                    parts["socket"].append(latency - service)
                    parts["fdk"].append(latency - handler)
                    parts["function"].append(handler - attempts)
                    parts["attempt"].append(attempts - service)
                    parts["floor"].append(floor_latency)
                emulator.calls.clear()
            rows.append((key, {name: statistics.median(values) for name, values in parts.items()}))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.bench.split", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls (or rounds) per route (default 300)")
    args = parser.parse_args(argv)
    with Stack(containers=0, gateway=False, image=False, config={"GENAI_LOG_LEVEL": "WARNING"}) as stack:
        assert stack.emulator is not None
        rows = split(stack, stack.emulator, args.calls)
    names = ("socket", "fdk", "function", "attempt", "floor")
    print(f"{'ms, median':14}" + "".join(f"{n:>10}" for n in names) + f"{'socket/floor':>14}")
    for key, parts in rows:
        cells = "".join(f"{parts[n]:>10.2f}" for n in names)
        print(f"{key:14}{cells}{parts['socket'] / parts['floor']:>14.2f}")
    print("socket = fdk + function + attempt: the project's warm overhead as `make bench` counts it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
