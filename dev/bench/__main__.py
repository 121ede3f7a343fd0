"""`make bench` (python -m dev.bench): the project's function against the naive baseline and the floor.

All three run under the real fdk through the local runner, on dependency folders
built the way their images are (`dev/image_site.py`), against the same local
Responses emulator with the same emulated resource principal: no network.
The floor (floor/func.py) is an fdk handler that imports nothing but fdk and
returns a fixed small answer: what the platform costs before any function code.
The proxy floor (proxy_floor/func.py) is the least a signing proxy can do: it
signs the same request with the same key (`cryptography` directly) and sends it
on one kept-alive `http.client` connection to the same emulator. A function that
signs and forwards can come near the proxy floor; none can come near the floor.

For each function it measures
  cold start   fresh process → socket ready → first answer, minus the emulator's
               own service time of that first call (median of --cold processes),
               split into imports / client construction / first request by
               `dev/bench/probe.py` in as many fresh processes;
  warm         per-call latency over the socket minus the emulator's own
               service time (median, p99 over --calls calls; the floor makes
               no upstream call, so its overhead is its whole latency), and the
               CPU time of the function's process per call over the same calls;
  memory       peak RSS (VmHWM) after 1,000 calls, RSS growth call 100 → 1,000;
  size         bytes installed for the function's dependencies, byte-code included;
  modules      modules loaded once the first request is answered;
  routes       warm overhead of Chat Completions, a conversation round (create a
               conversation, then a Responses create in it) and the simple route;
  sizes        latency and peak RSS, in a fresh process each, of a 1 MiB request
               and of a 5 MiB streamed answer;
and, for the project only, the first call of an eagerly started container
(GENAI_EAGER_START=true), and the cost of a token limit (dev/bench/limits.py:
warm overhead and first call with a limit on, beside the same with none).
The floor has no size rows (its answer is fixed and small); neither floor has an installed
size of its own (both run on the project's folder). It prints a table, with the project's
ratios to the naive function, to the floor and to the proxy floor, and writes JSON.

The naive baseline (naive/func.py) serves only POST …/responses with a model
and an input: it is measured as it always was, on that route and on the
1 MiB request. For the other routes the "naive" column is naive/routes.py,
the same pattern (signer and clients built per call, the SDK's parsed answer
returned) on each route; those rows are marked † in the table.
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
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dev import image_site as site
from dev.local.cache import LocalCache
from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import FnRunner, PlatformResponse
from dev.local.stack import Stack

from . import limits as limits_bench

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "dev" / "bench" / "results"
MODEL = "openai.gpt-oss-120b"
PROMPT = "Hello, how are you?"
BODY = json.dumps({"model": MODEL, "input": PROMPT}).encode()
HEADERS = {"content-type": "application/json"}
NAIVE_ROUTES = ROOT / "dev" / "bench" / "naive" / "routes.py"
FLOOR = ROOT / "dev" / "bench" / "floor" / "func.py"
PROXY_FLOOR = ROOT / "dev" / "bench" / "proxy_floor" / "func.py"
#: The conversation id the floor's round uses: the floor's answer to the create carries none.
FLOOR_CONVERSATION = "conv_floor"
MiB = 2**20
#: 1 MiB of text in one request; the emulator echoes it, so about 1 MiB comes back too.
LARGE_INPUT = "a" * MiB
#: 0.83 MiB of 200-character words: the emulator streams one delta per word and repeats the
#: text in the closing events, about 5 MiB and 4,000 events in all, under the 6 MB answer limit.
STREAM_INPUT = " ".join(["a" * 199] * (int(0.83 * MiB) // 200))


@dataclass
class Subject:
    name: str
    func: Path
    trimmed: bool
    entrypoint: list[str] | None
    #: Whether its calls reach the upstream (the floor's do not: its answer is fixed).
    upstream: bool = True
    #: Whether its dependency folder is its own (the floors run on the project's).
    own_folder: bool = True
    figures: dict[str, float] = field(default_factory=dict)


SUBJECTS = [
    Subject("project", ROOT / "func.py", trimmed=True, entrypoint=["-m", "genai_fn.boot"]),
    Subject("naive", ROOT / "dev" / "bench" / "naive" / "func.py", trimmed=False, entrypoint=None),
    # fdk's own `fdk` command, on the project's trimmed folder (it imports only fdk from it).
    Subject("floor", FLOOR, trimmed=True, entrypoint=None, upstream=False, own_folder=False),
    # Also fdk's own command on the project's folder: it imports fdk and cryptography from it.
    Subject("proxy", PROXY_FLOOR, trimmed=True, entrypoint=None, own_folder=False),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def invoke_ok(runner: FnRunner) -> PlatformResponse:
    answer = runner.invoke("POST", "/v1/responses", headers=HEADERS, body=BODY)
    if answer.status != 200:
        raise SystemExit(f"{runner.func_path}: status {answer.status}: {answer.body[:300]!r}")
    return answer


def post(runner: FnRunner, path: str, payload: dict[str, Any]) -> PlatformResponse:
    answer = runner.invoke("POST", path, headers=HEADERS, body=json.dumps(payload).encode())
    if answer.status != 200:
        raise SystemExit(f"{runner.func_path}: POST {path}: status {answer.status}: {answer.body[:300]!r}")
    return answer


# Each workload sends the same requests to every subject. `upstream` is False for the floor,
# whose answer is fixed: then only the status is checked, not what an upstream would have said.


def chat(runner: FnRunner, upstream: bool = True) -> list[PlatformResponse]:
    return [post(runner, "/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]})]


def conversation_round(runner: FnRunner, upstream: bool = True) -> list[PlatformResponse]:
    created = post(runner, "/v1/conversations", {"metadata": {"topic": "bench"}})
    conversation = json.loads(created.body)["id"] if upstream else FLOOR_CONVERSATION
    return [created, post(runner, "/v1/responses", {"model": MODEL, "input": PROMPT, "conversation": conversation})]


def simple_route(runner: FnRunner, upstream: bool = True) -> list[PlatformResponse]:
    # A direct invocation (`fn invoke`): no gateway headers, text in.
    answer = runner.invoke("POST", "/", body=PROMPT.encode(), gateway=False)
    if answer.status != 200 or (upstream and PROMPT not in json.loads(answer.body)["output_text"]):
        raise SystemExit(f"{runner.func_path}: simple route: status {answer.status}: {answer.body[:300]!r}")
    return [answer]


def large_request(runner: FnRunner, upstream: bool = True) -> list[PlatformResponse]:
    # Model and input only: what the naive baseline's func.py passes on.
    return [post(runner, "/v1/responses", {"model": MODEL, "input": LARGE_INPUT})]


def large_stream(runner: FnRunner, upstream: bool = True) -> list[PlatformResponse]:
    answer = post(runner, "/v1/responses", {"model": MODEL, "input": STREAM_INPUT, "stream": True, "store": False})
    if upstream and (not answer.body.rstrip().endswith(b"}") or b"response.completed" not in answer.body[-MiB:]):
        raise SystemExit(f"{runner.func_path}: the streamed answer did not end with response.completed")
    return [answer]


Workload = Callable[[FnRunner, bool], list[PlatformResponse]]


@dataclass(frozen=True)
class Route:
    """A row (or two) of the table: a workload, and which naive program has an equivalent of it."""

    key: str
    workload: Workload
    #: The naive function file that serves it; None: the subject's own func (naive/func.py).
    naive_func: Path | None = None


#: Calls of one route in a row, in one subject's container, in `routes`.
BLOCK = 10
#: Warm overhead per call (or round), median, in one warm container per subject.
ROUTES = (
    Route("chat", chat, NAIVE_ROUTES),
    Route("conversation", conversation_round, NAIVE_ROUTES),
    Route("simple", simple_route, NAIVE_ROUTES),
)
#: Latency and peak RSS, each in a fresh container warmed by one small call.
SIZES = (
    Route("request_1mib", large_request),
    Route("stream_5mib", large_stream, NAIVE_ROUTES),
)


def container(stack: Stack, subject: Subject, dependencies: Path, func: Path | None = None, **config: str) -> FnRunner:
    """A fresh container of `subject` (or its `func` file) on the stack's environment plus `config`, not started."""
    return stack.new_runner(
        config, func_path=func or subject.func, site_dir=dependencies, entrypoint=subject.entrypoint
    )


def func_for(subject: Subject, route: Route) -> Path:
    return route.naive_func if subject.name == "naive" and route.naive_func else subject.func


def timed(runner: FnRunner, emulator: Emulator, workload: Workload, upstream: bool = True) -> tuple[float, float]:
    """(latency over fdk's socket, the emulator's own service time), in ms, of one workload.

    The service time is that of the emulator calls the workload caused: none for the floor.
    """
    before = len(emulator.calls)
    answers = workload(runner, upstream)
    latency = sum(a.elapsed_s for a in answers) * 1000
    return latency, sum(c.service_ms for c in emulator.calls[before:])


def forget(emulator: Emulator) -> None:
    """Drop what the emulator keeps of past calls, so that the bench's own memory stays flat."""
    emulator.calls.clear()
    emulator.responses.clear()
    emulator.input_items.clear()
    emulator.conversations.clear()


def routes(subjects: list[Subject], stack: Stack, sites: dict[str, Path], emulator: Emulator, calls: int) -> None:
    """Warm overhead of each route in `ROUTES`: latency minus the emulator's service time, median.

    One warm container per subject, side by side, measured in alternating blocks of
    `BLOCK` back-to-back calls (each route in turn, project, naive, floor, proxy): a change in the
    machine's load weighs on every cell alike, and every measured call follows another
    call at once, as in the Responses rows. A block's first call, after the other
    container's turn, only warms it up again and is not counted.
    """
    assert len({route.naive_func for route in ROUTES}) == 1, "one container per subject serves every route"
    with ExitStack() as started:
        runners = [started.enter_context(container(stack, s, sites[s.name], func_for(s, ROUTES[0]))) for s in subjects]
        overheads: dict[tuple[str, str], list[float]] = {(s.name, r.key): [] for s in subjects for r in ROUTES}
        for block in range(1 + -(-calls // BLOCK)):  # block 0: first use of each route's code and connections
            for route in ROUTES:
                for subject, runner in zip(subjects, runners, strict=True):
                    for n in range(BLOCK + 1):
                        latency, service = timed(runner, emulator, route.workload, subject.upstream)
                        if block and n:
                            overheads[subject.name, route.key].append(latency - service)
            forget(emulator)
    for subject in subjects:
        for route in ROUTES:
            subject.figures[f"{route.key}_warm_ms"] = statistics.median(overheads[subject.name, route.key])


def sizes(subject: Subject, stack: Stack, dependencies: Path, emulator: Emulator, calls: int) -> None:
    """Latency (median) and peak RSS of each workload in `SIZES`, each in its own fresh container."""
    for route in SIZES:
        with container(stack, subject, dependencies, func_for(subject, route)) as runner:
            assert runner.pid is not None
            invoke_ok(runner)
            latencies, size = [], 0
            for _ in range(calls):
                before = len(emulator.calls)
                (answer,) = route.workload(runner, subject.upstream)
                latencies.append(answer.elapsed_s * 1000)
                size = len(answer.body)
                del emulator.calls[before:]  # their bodies are MiBs each
            subject.figures[f"{route.key}_ms"] = statistics.median(latencies)
            subject.figures[f"{route.key}_peak_rss_mb"] = ProcessProbe.of(runner.pid).hwm_kb / 1024
            subject.figures[f"{route.key}_answer_mib"] = size / MiB
        forget(emulator)


def cold(subjects: list[Subject], stack: Stack, sites: dict[str, Path], emulator: Emulator, runs: int) -> None:
    """Fresh process → socket → first answer, minus the emulator's time on that answer; then the probe's split.

    The subjects take turns, one fresh process each per round (as `routes` alternates its
    blocks), so that a change in the machine's load weighs on every column alike.
    """
    totals: dict[str, list[float]] = {s.name: [] for s in subjects}
    ready: dict[str, list[float]] = {s.name: [] for s in subjects}
    upstream: dict[str, list[float]] = {s.name: [] for s in subjects}
    probes: dict[str, list[dict[str, float]]] = {s.name: [] for s in subjects}
    for _ in range(runs):
        for subject in subjects:
            runner = container(stack, subject, sites[subject.name])
            started = time.perf_counter()
            with runner:
                ready[subject.name].append(time.perf_counter() - started)
                before = len(emulator.calls)
                invoke_ok(runner)
                service = sum(c.service_ms for c in emulator.calls[before:]) / 1000
                totals[subject.name].append(time.perf_counter() - started - service)
                upstream[subject.name].append(service)
    for _ in range(runs):
        for subject in subjects:
            out = subprocess.run(
                [sys.executable, "-S", str(ROOT / "dev" / "bench" / "probe.py"), subject.name, str(subject.func)],
                env={**stack.env, "PYTHONPATH": f"{subject.func.parent}{os.pathsep}{sites[subject.name]}"},
                capture_output=True,
                text=True,
                check=True,
            )
            probes[subject.name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for subject in subjects:
        figures, name = subject.figures, subject.name
        figures["cold_start_ms"] = statistics.median(totals[name]) * 1000
        figures["socket_ready_ms"] = statistics.median(ready[name]) * 1000
        figures["cold_upstream_ms"] = statistics.median(upstream[name]) * 1000
        for key in ("imports_ms", "construction_ms", "first_request_ms", "modules"):
            if key in probes[name][0]:  # the floor has no client to build and makes no request
                figures[key] = statistics.median(p[key] for p in probes[name])
    emulator.calls.clear()


def warm(subjects: list[Subject], stack: Stack, sites: dict[str, Path], emulator: Emulator, calls: int) -> None:
    """Warm overhead of POST …/responses (median, p99) and memory, one warm container per subject.

    After 50 calls each, the containers take turns in blocks of `BLOCK` counted calls,
    each block after one uncounted call (as in `routes`), until each has made `calls`
    counted calls; RSS is read at each container's 100th and 1,000th call.
    """
    with ExitStack() as started:
        runners = [started.enter_context(container(stack, s, sites[s.name])) for s in subjects]
        overheads: dict[str, list[float]] = {s.name: [] for s in subjects}
        made = dict.fromkeys(overheads, 0)
        rss_100: dict[str, int] = {}

        def call(subject: Subject, runner: FnRunner, counted: bool) -> None:
            latency, service = timed(runner, emulator, lambda r, _: [invoke_ok(r)])
            if counted:
                overheads[subject.name].append(latency - service)
            made[subject.name] += 1
            assert runner.pid is not None
            if made[subject.name] == 100:
                rss_100[subject.name] = ProcessProbe.of(runner.pid).rss_kb
            if made[subject.name] == 1000:
                probe = ProcessProbe.of(runner.pid)
                subject.figures["peak_rss_mb"] = probe.hwm_kb / 1024
                subject.figures["rss_growth_mb"] = (probe.rss_kb - rss_100[subject.name]) / 1024

        for subject, runner in zip(subjects, runners, strict=True):
            for _ in range(50):
                call(subject, runner, counted=False)
        # CPU time is what load does not stretch: a container uses none while the others take their turn.
        cpu_before = {s.name: (cpu_s(r.pid or 0), made[s.name]) for s, r in zip(subjects, runners, strict=True)}
        while any(len(o) < calls for o in overheads.values()):
            for subject, runner in zip(subjects, runners, strict=True):
                call(subject, runner, counted=False)
                for _ in range(BLOCK):
                    call(subject, runner, counted=True)
            emulator.calls.clear()
        for subject, runner in zip(subjects, runners, strict=True):
            used, before = cpu_s(runner.pid or 0) - cpu_before[subject.name][0], cpu_before[subject.name][1]
            subject.figures["warm_cpu_ms"] = used * 1000 / (made[subject.name] - before)
    for subject in subjects:
        subject.figures["warm_median_ms"] = statistics.median(overheads[subject.name])
        subject.figures["warm_p99_ms"] = percentile(overheads[subject.name], 0.99)


def cpu_s(pid: int) -> float:
    """User and system CPU seconds the process has used so far (all its threads; /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def eager(subject: Subject, stack: Stack, dependencies: Path, emulator: Emulator, runs: int) -> None:
    first, ready = [], []
    for _ in range(runs):
        runner = container(stack, subject, dependencies, GENAI_EAGER_START="true")
        started = time.perf_counter()
        with runner:
            ready.append(time.perf_counter() - started)
            first.append(invoke_ok(runner).elapsed_s * 1000 - emulator.calls[-1].service_ms)
    subject.figures["eager_socket_ready_ms"] = statistics.median(ready) * 1000
    subject.figures["eager_first_call_ms"] = statistics.median(first)


ROWS: list[tuple[str, str, str]] = [
    ("cold_start_ms", "cold start to first answer (ms, median) ‡", ".0f"),
    ("socket_ready_ms", "  process start → socket ready", ".0f"),
    ("imports_ms", "  imports (probe)", ".0f"),
    ("construction_ms", "  client construction (probe)", ".1f"),
    ("first_request_ms", "  first request (probe)", ".1f"),
    ("warm_median_ms", "warm overhead per call (ms, median)", ".2f"),
    ("warm_p99_ms", "warm overhead per call (ms, p99)", ".2f"),
    ("warm_cpu_ms", "  CPU per call, function's process (ms)", ".2f"),
    ("peak_rss_mb", "peak RSS after 1,000 calls (MB)", ".1f"),
    ("rss_growth_mb", "RSS growth, call 100 → 1,000 (MB)", ".2f"),
    ("size_mb", "installed dependencies (MB)", ".0f"),
    ("modules", "modules loaded at first answer", ".0f"),
    ("eager_socket_ready_ms", "eager start: socket ready (ms)", ".0f"),
    ("eager_first_call_ms", "eager start: first call overhead (ms)", ".2f"),
    ("chat_warm_ms", "Chat Completions: warm overhead (ms) †", ".2f"),
    ("conversation_warm_ms", "conversation round: warm overhead (ms) †", ".2f"),
    ("simple_warm_ms", "simple route: warm overhead (ms) †", ".2f"),
    ("request_1mib_ms", "1 MiB request: latency (ms, median)", ".1f"),
    ("request_1mib_peak_rss_mb", "1 MiB request: peak RSS (MB)", ".1f"),
    ("stream_5mib_ms", "5 MiB streamed answer: latency (ms) †", ".1f"),
    ("stream_5mib_peak_rss_mb", "5 MiB streamed answer: peak RSS (MB) †", ".1f"),
    *limits_bench.ROWS,
]


def ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:.3f}" if ours is not None and theirs else "-"


def table(project: dict[str, float], naive: dict[str, float], floor: dict[str, float], proxy: dict[str, float]) -> str:
    width = 42
    lines = [
        f"{'':{width}} {'project':>9} {'naive':>9} {'floor':>9} {'proxy':>9}"
        f" {'project/naive':>14} {'project/floor':>14} {'project/proxy':>14}"
    ]
    for key, label, fmt in ROWS:
        values = project.get(key), naive.get(key), floor.get(key), proxy.get(key)
        cells = [format(v, fmt) if v is not None else "-" for v in values]
        lines.append(
            f"{label:{width}} {cells[0]:>9} {cells[1]:>9} {cells[2]:>9} {cells[3]:>9}"
            f" {ratio(values[0], values[1]):>14} {ratio(values[0], values[2]):>14} {ratio(values[0], values[3]):>14}"
        )
    lines.append("† naive column: dev/bench/naive/routes.py, the naive pattern on a route naive/func.py lacks")
    lines.append("‡ minus the emulator's own time on the first call (floor: no upstream call)")
    lines.append("floor: dev/bench/floor/func.py, fdk and a fixed answer, no upstream call (docs/performance.md)")
    lines.append("proxy: dev/bench/proxy_floor/func.py, fdk, signing with cryptography, one kept-alive http.client")
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
    parser.add_argument(
        "--route-calls", type=int, default=60, help="calls (or rounds) per route and function (default 60)"
    )
    parser.add_argument("--size-calls", type=int, default=8, help="calls per size and function (default 8)")
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
        phase = time.monotonic()
        cold(SUBJECTS, stack, sites, stack.emulator, args.cold)
        print(f"bench: cold starts measured in {time.monotonic() - phase:.0f} s", flush=True)
        phase = time.monotonic()
        warm(SUBJECTS, stack, sites, stack.emulator, args.calls)
        print(f"bench: warm calls measured in {time.monotonic() - phase:.0f} s", flush=True)
        # The floor has no size rows; neither floor has a folder of its own: both run on the project's.
        for subject in (s for s in SUBJECTS if s.upstream):
            dependencies = sites[subject.name]
            if subject.own_folder:
                subject.figures["size_mb"] = site.size_bytes(dependencies) / 2**20
            phase = time.monotonic()
            sizes(subject, stack, dependencies, stack.emulator, args.size_calls)
            if subject.name == "project":
                eager(subject, stack, dependencies, stack.emulator, args.cold)
                assert stack.issuer is not None
                with LocalCache(stack.issuer) as cache:
                    subject.figures.update(limits_bench.measure(stack, cache, dependencies, 200, args.cold))
            print(f"bench: {subject.name} measured in {time.monotonic() - phase:.0f} s", flush=True)
        phase = time.monotonic()
        routes(SUBJECTS, stack, sites, stack.emulator, args.route_calls)
        print(f"bench: routes measured in {time.monotonic() - phase:.0f} s", flush=True)

    project, naive, floor, proxy = (s.figures for s in SUBJECTS)
    print()
    print(table(project, naive, floor, proxy))
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cold_runs": args.cold,
        "warm_calls": args.calls,
        "route_calls": args.route_calls,
        "size_calls": args.size_calls,
        "project": project,
        "naive": naive,
        "floor": floor,
        "proxy": proxy,
        "ratio": {k: project[k] / naive[k] for k in project if naive.get(k)},
        "ratio_to_floor": {k: project[k] / floor[k] for k in project if floor.get(k)},
        "ratio_to_proxy": {k: project[k] / proxy[k] for k in project if proxy.get(k)},
    }
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nbench: {out.relative_to(ROOT)} written; total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
