"""Runs a function under the real fdk and invokes it the way the Fn agent does.

`FnRunner` starts `fdk <func.py> handler` as its own process with the
environment OCI Functions gives a container (`FN_FORMAT=http-stream`,
`FN_LISTENER=unix:...`, the resource-principal variables, the configuration),
waits for fdk's socket symlink, and sends each invocation as `POST /call` over
that unix socket with `Fn-Call-Id`, `Fn-Deadline`, `Fn-Intent: httprequest`,
`Fn-Http-Method`, `Fn-Http-Request-Url` and one `Fn-Http-H-<Name>` per client
header.

The answer is translated back with the platform's rules: `Fn-Http-Status` and
`Fn-Http-H-*` become the status and headers, a 5xx other than 502 and 504
becomes 502, and a call still running at its deadline is cut off with 504
and its container killed (the platform cannot interrupt a hot function
either), to be started again for the next call.

The process's output (fdk's and the function's, stdout and stderr) is read by
a background thread into `logs`. A caller that reads it right after `invoke`
races that thread, so the runner offers waits instead: `log_for(call_id)`
returns a call's own JSON log line (genai_fn/logs.py) once it has been read,
`invocations()` the lines of every call answered so far, `wait_for_line` the
first line that matches, and `stop()` returns only once all output is read.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_TIMEOUT_S = 120.0
#: How long to wait for a line the process has written, or is about to write, before giving up.
#: An upper bound for a failing test, not a timing: the line is normally read within milliseconds.
LOG_WAIT_S = 30.0
#: Lines of output (and call records) kept; a soak of 10,000 calls fits.
KEPT = 20_000
#: What fdk's `fdk` console script runs, for a site folder that has no usable script.
FDK_SCRIPT = "import sys; from fdk.scripts.fdk import main; sys.exit(main())"
# Headers the gateway sets or that describe the hop, not the client's request.
HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})


@dataclass
class PlatformResponse:
    """What the caller of the function receives after the platform's translation."""

    status: int
    headers: dict[str, str]
    body: bytes
    call_id: str = ""
    #: Time spent inside the function process, as seen over the socket.
    elapsed_s: float = 0.0


class LogLineMissing(LookupError):
    """A line the test waited for was not written (the process ended, or the wait's bound passed)."""


def load_source(path: Path, name: str, monkeypatch: pytest.MonkeyPatch | None = None) -> ModuleType:
    """Import a file afresh, by path and under `name`, the way fdk's customer_code loads func.py.

    In-process, for the tests and the benchmarks: the module reads its configuration from os.environ as it
    is imported, as a new container does. With `monkeypatch`, the module is also in `sys.modules` under
    `name` for the test's duration.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    if monkeypatch is not None:
        monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@dataclass
class FnRunner:
    """One function container: an fdk process and the unix socket it listens on."""

    func_path: Path = ROOT / "func.py"
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    python_bin: str = sys.executable
    #: Copy the function's output to our stderr as it comes (for `make run`).
    echo_logs: bool = False
    #: Interpreter arguments that start the container, before `<func.py> handler`
    #: (e.g. `["-m", "genai_fn.boot"]`); default: fdk's own `fdk` command.
    entrypoint: Sequence[str] | None = None
    #: A dependency folder laid out like the image's `/python` (pip --target).
    #: When set, Python runs with -S and PYTHONPATH=<function dir>:<site_dir>,
    #: so nothing but that folder and the function can be imported, as in the image.
    site_dir: Path | None = None
    #: Append each call's invocation line to this file, for `make usage --local` (ops/usage.py).
    invocation_log: Path | None = None
    #: The folder on PYTHONPATH that the image's /function is: func.py's own folder, or the repository for a
    #: function whose image holds its package beside func.py (authorizer/ and usage_metrics/, their Dockerfiles).
    code_root: Path | None = None

    def __post_init__(self) -> None:
        #: Every line the process wrote, as read so far (read it with `lines()`, which takes the lock).
        self.logs: deque[str] = deque(maxlen=KEPT)
        #: Call ids of the calls fdk answered (not those cut off at the deadline), oldest first.
        self.call_ids: deque[str] = deque(maxlen=KEPT)
        self._process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self._dir = ""
        self._lock = threading.Lock()
        self.starts = 0
        # Guards logs and _invocations; notified for every line read and when a process's output ends.
        self._read = threading.Condition()
        self._invocations: dict[str, dict[str, Any]] = {}
        self._pumps: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------

    @property
    def socket_path(self) -> str:
        return os.path.join(self._dir, "lsnr.sock")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, ready_timeout_s: float = 30.0) -> FnRunner:
        """Start the fdk process and wait until its socket is ready.

        Whatever interrupts the wait (`make run` stopped by a signal, dev/local/__main__.py) stops the process
        first: a caller's `with` registers `stop` only once `start` has returned.
        """
        try:
            return self._start(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _start(self, ready_timeout_s: float) -> FnRunner:
        self._dir = tempfile.mkdtemp(prefix="genai-fn-")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            **self.env,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{self.socket_path}",
            "PYTHONUNBUFFERED": "1",
            # The Fn Python image runs in /function with PYTHONPATH=/function:/python.
            "PYTHONPATH": os.pathsep.join(
                str(p) for p in (self.code_root or self.func_path.parent, self.site_dir) if p
            ),
        }
        self._process = subprocess.Popen(
            [*self._command(), str(self.func_path), "handler"],
            cwd=str(self.func_path.parent),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        pump = threading.Thread(target=self._pump, args=(self._process,), name="fn-output", daemon=True)
        with self._read:
            self._pumps.append(pump)
        pump.start()
        deadline = time.monotonic() + ready_timeout_s
        # fdk binds "phony<name>" and symlinks <name> to it once it serves: wait for the link.
        while not os.path.islink(self.socket_path):
            if self._process.poll() is not None:
                pump.join(LOG_WAIT_S)  # all it wrote, for the message
                raise RuntimeError(
                    f"fdk exited with {self._process.returncode} before listening:\n{self.recent_logs()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fdk did not listen within {ready_timeout_s} s:\n{self.recent_logs()}")
            time.sleep(0.005)
        self._client = httpx.Client(transport=httpx.HTTPTransport(uds=self.socket_path), timeout=None)
        return self

    def _command(self) -> list[str]:
        if self.site_dir is not None:
            return [self.python_bin, "-S", *(self.entrypoint or ["-c", FDK_SCRIPT])]
        if self.entrypoint:
            return [self.python_bin, *self.entrypoint]
        return [shutil.which("fdk", path=os.path.dirname(self.python_bin)) or "fdk"]

    def stop(self) -> None:
        if self._client:
            self._client.close()
            self._client = None
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None
        # The process is gone, so its output ends: once read to the end, `logs` holds all it wrote.
        with self._read:
            pumps = list(self._pumps)
        for pump in pumps:
            pump.join(LOG_WAIT_S)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = ""

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> FnRunner:
        # `with runner.start():` must not start a second process (and leak the first).
        return self if self._process is not None and self._process.poll() is None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def recent_logs(self, lines: int = 40) -> str:
        return "\n".join(self.lines()[-lines:])

    # -- output ------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The output read so far (a copy: the reader thread goes on appending to `logs`)."""
        with self._read:
            return list(self.logs)

    @property
    def last_call_id(self) -> str:
        """The id of the last call fdk answered."""
        with self._read:
            return self.call_ids[-1]

    def log_for(self, call_id: str, timeout_s: float | None = LOG_WAIT_S) -> dict[str, Any]:
        """The function's own log line of call `call_id` (genai_fn/logs.py), waited for.

        The function writes it before it answers, but the line reaches `logs`
        through the reader thread, which a busy machine may run late.
        """
        with self._read:
            if not self._read.wait_for(lambda: call_id in self._invocations or not self._reading(), timeout_s):
                raise LogLineMissing(f"no log line for call {call_id} within {timeout_s} s:\n{self._tail()}")
            if call_id not in self._invocations:
                raise LogLineMissing(f"the process ended without a log line for call {call_id}:\n{self._tail()}")
            return self._invocations[call_id]

    def invocations(self, timeout_s: float | None = LOG_WAIT_S) -> list[dict[str, Any]]:
        """The log line of every call fdk answered so far, in the order of the calls, each waited for."""
        with self._read:
            call_ids = list(self.call_ids)
        return [self.log_for(call_id, timeout_s) for call_id in call_ids]

    def wait_for_line(self, matches: Callable[[str], bool], timeout_s: float | None = LOG_WAIT_S) -> str:
        """The first line of output for which `matches` is true, waiting for the process to write it."""
        found: list[str] = []

        def seen() -> bool:
            found[:] = [line for line in self.logs if matches(line)][:1]
            return bool(found) or not self._reading()

        with self._read:
            self._read.wait_for(seen, timeout_s)
            if not found:
                raise LogLineMissing(f"no matching line of output within {timeout_s} s:\n{self._tail()}")
            return found[0]

    def _reading(self) -> bool:
        """Whether a process's output may still bring lines (call with `_read` held)."""
        return bool(self._pumps)

    def _tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.logs)[-lines:])

    def _pump(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        try:
            for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                record = _invocation(line)
                if record is not None and self.invocation_log is not None:
                    # Before the line is published: once `log_for` has a call's line, so has the file.
                    append_invocation(self.invocation_log, line)
                with self._read:
                    self.logs.append(line)
                    if record is not None:
                        self._invocations[record["call_id"]] = record
                        if len(self._invocations) > KEPT:
                            del self._invocations[next(iter(self._invocations))]
                    self._read.notify_all()
                if self.echo_logs:
                    print(f"[fn {process.pid}] {line}", file=sys.stderr, flush=True)
        finally:
            with self._read:
                self._pumps.remove(threading.current_thread())
                self._read.notify_all()

    # -- invocation --------------------------------------------------------------

    def invoke(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        timeout_s: float | None = None,
        gateway: bool = True,
    ) -> PlatformResponse:
        """Invoke the function as the Fn agent does for an API Gateway request.

        Fn runs one call at a time per container, so calls are serialised.
        With `gateway=False` it is a direct invocation (`fn invoke`): no
        `Fn-Intent`, no `Fn-Http-*` headers.
        """
        with self._lock:
            if self._client is None:
                self.start()
            assert self._client is not None
            timeout = self.timeout_s if timeout_s is None else timeout_s
            call_id = uuid.uuid4().hex.upper()
            deadline = datetime.now(timezone.utc) + timedelta(seconds=timeout)
            fn_headers = {
                "Fn-Call-Id": call_id,
                "Fn-Deadline": deadline.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), None)
            if content_type:
                fn_headers["Content-Type"] = content_type
            if gateway:
                fn_headers.update(
                    {"Fn-Intent": "httprequest", "Fn-Http-Method": method.upper(), "Fn-Http-Request-Url": url}
                )
                for name, value in (headers or {}).items():
                    if name.lower() not in HOP_HEADERS:
                        fn_headers[f"Fn-Http-H-{name}"] = value
            started = time.monotonic()
            try:
                answer = self._client.post("http://function/call", headers=fn_headers, content=body, timeout=timeout)
            except httpx.TimeoutException:
                # The platform kills a call at its deadline, and with it the container.
                self.stop()
                return PlatformResponse(
                    504,
                    {"content-type": "application/json"},
                    b'{"code":"FunctionInvokeTimeout","message":"Function execution timed out"}',
                    call_id,
                    time.monotonic() - started,
                )
            except httpx.TransportError as exc:
                self.stop()
                return PlatformResponse(
                    502,
                    {"content-type": "application/json"},
                    json.dumps(
                        {"code": "FunctionInvokeFailed", "message": f"container failed: {type(exc).__name__}"}
                    ).encode(),
                    call_id,
                    time.monotonic() - started,
                )
            with self._read:
                self.call_ids.append(call_id)
            return translate(answer, call_id, time.monotonic() - started)


def _invocation(line: str) -> dict[str, Any] | None:
    """The function's per-call log line (`{"event": "invocation", "call_id": ...}`), parsed; None for others."""
    if not line.startswith("{") or '"invocation"' not in line:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and record.get("event") == "invocation" and isinstance(record.get("call_id"), str):
        return record
    return None


def append_invocation(path: Path, line: str) -> None:
    """Append an invocation line to `path` in the envelope OCI Logging gives it (`time`, `data.message`).

    One `write` per line on an O_APPEND descriptor, so the lines of several
    containers appending to one file never interleave.
    """
    envelope = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "data": {"message": line}}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(envelope, ensure_ascii=False) + "\n").encode())
    finally:
        os.close(fd)


def translate(answer: httpx.Response, call_id: str, elapsed_s: float) -> PlatformResponse:
    """Turn fdk's `/call` answer into what the client sees, with the platform's rules."""
    status = answer.status_code
    declared = answer.headers.get("fn-http-status")
    if declared is not None and status == 200:
        status = int(declared)
    if status >= 500 and status not in (502, 504):
        status = 502
    headers: dict[str, str] = {}
    for name, value in answer.headers.items():
        lower = name.lower()
        if lower.startswith("fn-http-h-"):
            headers[lower[len("fn-http-h-") :]] = value
        elif lower == "content-type":
            headers["content-type"] = value
    return PlatformResponse(status, headers, answer.content, call_id, elapsed_s)
