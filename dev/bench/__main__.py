"""`make bench` (python -m dev.bench): the project's function against the naive baseline.

Both run under the real fdk through the local runner, on dependency folders
built the way their images are (`image/site.py`), against the same local
Responses emulator with the same emulated resource principal: no network.

For each function it measures
  cold start   fresh process → socket ready → first answer (median of --cold
               processes), split into imports / client construction / first
               request by `dev/bench/probe.py` in as many fresh processes;
  warm         per-call latency over the socket minus the emulator's own
               service time (median, p99 over --calls calls);
  memory       peak RSS (VmHWM) after 1,000 calls, RSS growth call 100 → 1,000;
  size         bytes installed for the function's dependencies, byte-code included;
  modules      modules loaded once the first request is answered;
and, for the project only, the first call of an eagerly started container
(GENAI_EAGER_START=true). It prints a table, ratios first, and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dev import image_site as site
from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import FnRunner
from dev.local.stack import Stack

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "dev" / "bench" / "results"
BODY = json.dumps({"model": "openai.gpt-oss-120b", "input": "Hello, how are you?"}).encode()
HEADERS = {"content-type": "application/json"}


@dataclass
class Subject:
    name: str
    func: Path
    trimmed: bool
    entrypoint: list[str] | None
    figures: dict[str, float] = field(default_factory=dict)


SUBJECTS = [
    Subject("project", ROOT / "func.py", trimmed=True, entrypoint=["-m", "genai_fn.boot"]),
    Subject("naive", ROOT / "dev" / "bench" / "naive" / "func.py", trimmed=False, entrypoint=None),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def invoke_ok(runner: FnRunner) -> float:
    answer = runner.invoke("POST", "/v1/responses", headers=HEADERS, body=BODY)
    if answer.status != 200:
        raise SystemExit(f"{runner.func_path}: status {answer.status}: {answer.body[:300]!r}")
    return answer.elapsed_s


def container(stack: Stack, subject: Subject, dependencies: Path, **config: str) -> FnRunner:
    """A fresh container of `subject` on the stack's environment (plus `config`), not started."""
    return stack.new_runner(config, func_path=subject.func, site_dir=dependencies, entrypoint=subject.entrypoint)


def cold(subject: Subject, stack: Stack, dependencies: Path, runs: int) -> None:
    totals, ready = [], []
    for _ in range(runs):
        runner = container(stack, subject, dependencies)
        started = time.perf_counter()
        with runner:
            ready.append(time.perf_counter() - started)
            invoke_ok(runner)
            totals.append(time.perf_counter() - started)
    subject.figures["cold_start_ms"] = statistics.median(totals) * 1000
    subject.figures["socket_ready_ms"] = statistics.median(ready) * 1000

    probes = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-S", str(ROOT / "dev" / "bench" / "probe.py"), subject.name, str(subject.func)],
            env={**stack.env, "PYTHONPATH": f"{subject.func.parent}{os.pathsep}{dependencies}"},
            capture_output=True,
            text=True,
            check=True,
        )
        probes.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for key in ("imports_ms", "construction_ms", "first_request_ms"):
        subject.figures[key] = statistics.median(p[key] for p in probes)
    subject.figures["modules"] = statistics.median(p["modules"] for p in probes)


def warm(subject: Subject, stack: Stack, dependencies: Path, emulator: Emulator, calls: int) -> None:
    overheads: list[float] = []
    with container(stack, subject, dependencies) as runner:
        assert runner.pid is not None
        rss_100 = rss_1000 = 0
        for n in range(1, calls + 51):
            elapsed = invoke_ok(runner)
            if n > 50:
                overheads.append(elapsed * 1000 - emulator.calls[-1].service_ms)
            if n == 100:
                rss_100 = ProcessProbe.of(runner.pid).rss_kb
            if n == 1000:
                probe = ProcessProbe.of(runner.pid)
                rss_1000 = probe.rss_kb
                subject.figures["peak_rss_mb"] = probe.hwm_kb / 1024
        emulator.calls.clear()
    subject.figures["warm_median_ms"] = statistics.median(overheads)
    subject.figures["warm_p99_ms"] = percentile(overheads, 0.99)
    subject.figures["rss_growth_mb"] = (rss_1000 - rss_100) / 1024


def eager(subject: Subject, stack: Stack, dependencies: Path, emulator: Emulator, runs: int) -> None:
    first, ready = [], []
    for _ in range(runs):
        runner = container(stack, subject, dependencies, GENAI_EAGER_START="true")
        started = time.perf_counter()
        with runner:
            ready.append(time.perf_counter() - started)
            first.append(invoke_ok(runner) * 1000 - emulator.calls[-1].service_ms)
    subject.figures["eager_socket_ready_ms"] = statistics.median(ready) * 1000
    subject.figures["eager_first_call_ms"] = statistics.median(first)


ROWS: list[tuple[str, str, str]] = [
    ("cold_start_ms", "cold start to first answer (ms, median)", ".0f"),
    ("socket_ready_ms", "  process start → socket ready", ".0f"),
    ("imports_ms", "  imports (probe)", ".0f"),
    ("construction_ms", "  client construction (probe)", ".1f"),
    ("first_request_ms", "  first request (probe)", ".1f"),
    ("warm_median_ms", "warm overhead per call (ms, median)", ".2f"),
    ("warm_p99_ms", "warm overhead per call (ms, p99)", ".2f"),
    ("peak_rss_mb", "peak RSS after 1,000 calls (MB)", ".1f"),
    ("rss_growth_mb", "RSS growth, call 100 → 1,000 (MB)", ".2f"),
    ("size_mb", "installed dependencies (MB)", ".0f"),
    ("modules", "modules loaded at first answer", ".0f"),
    ("eager_socket_ready_ms", "eager start: socket ready (ms)", ".0f"),
    ("eager_first_call_ms", "eager start: first call overhead (ms)", ".2f"),
]


def table(project: dict[str, float], naive: dict[str, float]) -> str:
    lines = [f"{'':42} {'project':>9} {'naive':>9} {'project/naive':>14}"]
    for key, label, fmt in ROWS:
        ours, theirs = project.get(key), naive.get(key)
        cells = [format(v, fmt) if v is not None else "-" for v in (ours, theirs)]
        ratio = f"{ours / theirs:.3f}" if ours is not None and theirs else "-"
        lines.append(f"{label:42} {cells[0]:>9} {cells[1]:>9} {ratio:>14}")
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    return (
        f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=10, help="fresh processes per function (default 10)")
    parser.add_argument("--calls", type=int, default=1000, help="warm calls per function (default 1000)")
    args = parser.parse_args(argv)
    if args.calls < 1000:
        parser.error("--calls must be at least 1000 (memory is read at call 1,000)")

    print(f"bench: {machine()}", flush=True)
    started = time.monotonic()
    sites = {s.name: site.build(trimmed=s.trimmed) for s in SUBJECTS}
    print(f"bench: dependency folders ready in {time.monotonic() - started:.0f} s", flush=True)

    # Emulator and principal only: each measurement starts its own containers, on each subject's folder.
    stack = Stack(containers=0, gateway=False, image=False, config={"GENAI_LOG_LEVEL": "WARNING"})
    with stack:
        assert stack.emulator is not None
        for subject in SUBJECTS:
            dependencies = sites[subject.name]
            subject.figures["size_mb"] = site.size_bytes(dependencies) / 2**20
            phase = time.monotonic()
            cold(subject, stack, dependencies, args.cold)
            warm(subject, stack, dependencies, stack.emulator, args.calls)
            if subject.name == "project":
                eager(subject, stack, dependencies, stack.emulator, args.cold)
            print(f"bench: {subject.name} measured in {time.monotonic() - phase:.0f} s", flush=True)

    project, naive = (s.figures for s in SUBJECTS)
    print()
    print(table(project, naive))
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cold_runs": args.cold,
        "warm_calls": args.calls,
        "project": project,
        "naive": naive,
        "ratio": {k: project[k] / naive[k] for k in project if naive.get(k)},
    }
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nbench: {out.relative_to(ROOT)} written; total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
