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
"""

from __future__ import annotations

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_TIMEOUT_S = 120.0
# Headers the gateway sets or that describe the hop, not the client's request.
#: What fdk's `fdk` console script runs, for a site folder that has no usable script.
FDK_SCRIPT = "import sys; from fdk.scripts.fdk import main; sys.exit(main())"
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

    def __post_init__(self) -> None:
        self.logs: deque[str] = deque(maxlen=20_000)
        self._process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self._dir = ""
        self._lock = threading.Lock()
        self.starts = 0

    # -- lifecycle ---------------------------------------------------------------

    @property
    def socket_path(self) -> str:
        return os.path.join(self._dir, "lsnr.sock")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, ready_timeout_s: float = 30.0) -> FnRunner:
        """Start the fdk process and wait until its socket is ready."""
        self._dir = tempfile.mkdtemp(prefix="genai-fn-")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            **self.env,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{self.socket_path}",
            "PYTHONUNBUFFERED": "1",
            # The Fn Python image runs in /function with PYTHONPATH=/function:/python.
            "PYTHONPATH": os.pathsep.join(str(p) for p in (self.func_path.parent, self.site_dir) if p),
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
        threading.Thread(target=self._pump, args=(self._process,), daemon=True).start()
        deadline = time.monotonic() + ready_timeout_s
        # fdk binds "phony<name>" and symlinks <name> to it once it serves: wait for the link.
        while not os.path.islink(self.socket_path):
            if self._process.poll() is not None:
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
        return "\n".join(list(self.logs)[-lines:])

    def _pump(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.logs.append(line)
            if self.echo_logs:
                print(f"[fn {process.pid}] {line}", file=sys.stderr, flush=True)

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
            return translate(answer, call_id, time.monotonic() - started)


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
