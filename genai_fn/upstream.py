"""The OpenAI client for OCI Generative AI, and calls that fit the time budget.

One client per container: the signer, its key and the connection pool are
built on the first call that needs the model and reused by every later one.

Retries are ours, not the SDK's (the client is built with `max_retries=0`). The
SDK's retry loop does not know about the function's deadline: each attempt gets
the full timeout and a `retry-after` is honoured up to a minute, so a throttled
or hanging upstream would outlive the call and the platform would kill it. Here
every attempt gets only what is left of the budget, and a wait that would not
fit is not started: the caller gets the 429 or 502 at once instead of a 504.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from . import auth, errors
from .deadline import Budget
from .logs import CallRecord
from .settings import Settings

if TYPE_CHECKING:
    import openai

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Below this many seconds an attempt cannot do useful work.
MIN_ATTEMPT_S = 0.05


class Upstream:
    """The container's one OpenAI client and budget-aware calls through it."""

    def __init__(self, settings: Settings, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._environ = environ
        self._client: openai.OpenAI | None = None
        self._auth: httpx.Auth | None = None
        self._lock = threading.Lock()

    def auth_mode(self) -> str:
        """The concrete auth mode (`auto` resolved), or a note on why there is none."""
        try:
            return self._resolve_mode()
        except auth.CredentialsError:
            return f"{self._settings.auth_mode} (no credentials found)"

    def client(self) -> openai.OpenAI:
        """The shared client, built on first use; `ApiError` if credentials fail."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _resolve_mode(self) -> str:
        s = self._settings
        return auth.resolve_mode(s.auth_mode, self._environ, s.oci_config_file, s.oci_profile)

    def warm_up(self) -> None:
        """Build the client and run one request through it, signing included, without sending it.

        The request goes to an in-memory transport: the SDK's request path, the
        signer (which loads the private key) and the first RSA signature are
        paid now, before any caller waits; nothing reaches the network.
        """
        client = self.client()

        def answer(request: httpx.Request) -> httpx.Response:
            if "signature" not in request.headers.get("authorization", "").lower():
                raise errors.credentials_unavailable("warm-up request was not signed")
            return httpx.Response(200, json={})

        with httpx.Client(auth=self._auth, transport=httpx.MockTransport(answer)) as offline:
            # Same SDK client, same signer; only the transport differs.
            client.with_options(http_client=offline).post(  # type: ignore[arg-type]
                "/responses", cast_to=httpx.Response, body={"model": self._settings.default_model, "input": "."}
            )

    def _build_client(self) -> openai.OpenAI:
        import openai

        s = self._settings
        try:
            mode = self._resolve_mode()
            signer = auth.build_auth(mode, self._environ, s.oci_config_file, s.oci_profile)
            self._auth = signer
        except auth.CredentialsError as exc:
            # Not cached: the next call tries again (files may appear or be rotated).
            raise errors.credentials_unavailable(str(exc)) from exc
        http_client = httpx.Client(
            auth=signer,
            timeout=httpx.Timeout(s.attempt_timeout_s, connect=min(10.0, s.attempt_timeout_s)),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=30),
        )
        return openai.OpenAI(
            base_url=s.base_url,
            # The SDK insists on a key; OCI ignores it and the signer strips the header.
            api_key="not-used",
            # Always explicit: otherwise the SDK would read OPENAI_PROJECT_ID from the environment.
            project=s.project_ocid,
            # openai accepts an httpx (not only httpx2) client at run time; its stubs say otherwise.
            http_client=http_client,  # type: ignore[arg-type]
            max_retries=0,
        )

    def raw(
        self,
        method: str,
        path: str,
        budget: Budget,
        record: CallRecord,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        resource_lookup: bool = False,
    ) -> httpx.Response:
        """Send a request as is and return the upstream answer untouched (2xx only)."""
        client = self.client()

        def attempt(timeout: float) -> httpx.Response:
            options: Any = {"timeout": timeout, "params": dict(params or {})}
            if method == "POST":
                return client.post(path, cast_to=httpx.Response, body=body, options=options)
            if method == "GET":
                return client.get(path, cast_to=httpx.Response, options=options)
            return client.delete(path, cast_to=httpx.Response, options=options)

        response = self.within_budget(attempt, budget, record, resource_lookup=resource_lookup)
        record.opc_request_id = response.headers.get("opc-request-id", record.opc_request_id)
        return response

    def within_budget(
        self,
        attempt: Callable[[float], T],
        budget: Budget,
        record: CallRecord,
        *,
        resource_lookup: bool = False,
    ) -> T:
        """Run `attempt(timeout)` with retries, all inside `budget`; `ApiError` on failure."""
        import openai

        s = self._settings
        while True:
            remaining = budget.remaining()
            if remaining < MIN_ATTEMPT_S:
                raise errors.deadline_exceeded(f"{record.attempts} attempt(s) made")
            record.attempts += 1
            started = time.monotonic()
            try:
                result = attempt(min(s.attempt_timeout_s, remaining))
                return result
            except openai.APIStatusError as exc:
                status = exc.status_code
                record.opc_request_id = exc.response.headers.get("opc-request-id", record.opc_request_id)
                wait = retry_after(exc.response.headers)
                failure = errors.from_upstream(
                    status,
                    exc.response.headers,
                    exc.response.content,
                    region=s.region,
                    retry_after_s=wait,
                    resource_lookup=resource_lookup,
                )
                if status not in RETRYABLE_STATUSES:
                    raise failure from None
            except openai.APITimeoutError:
                failure = errors.deadline_exceeded(f"upstream timed out after {record.attempts} attempt(s)")
                wait = None
            except openai.APIConnectionError as exc:
                failure = errors.upstream_unreachable(_cause(exc))
                wait = None
            finally:
                record.upstream_s += time.monotonic() - started

            delay = wait if wait is not None else backoff(record.attempts)
            # Start no wait the budget cannot cover: answer now, while there is time to.
            if record.attempts > s.max_retries or delay + MIN_ATTEMPT_S >= budget.remaining():
                raise failure
            time.sleep(delay)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms` or `retry-after`), if any."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: ~0.5 s, 1 s, 2 s … capped at 8 s."""
    base: float = min(8.0, 0.5 * 2 ** (attempts - 1))
    return base * random.uniform(0.75, 1.0)


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause else "connection failed"
