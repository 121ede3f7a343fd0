"""The signed HTTP client for OCI Generative AI, and requests that fit the time and memory budget.

One `httpx.Client` per container, signed by the function's identity through
oci-genai-auth's `httpx.Auth` (resource principal in OCI): the signer, its key
and the connection pool are built on the first call that needs them and reused
by every later one. Every route sends its request as bytes through this client
and passes the answer back: nothing is parsed into SDK models, so a call pays
neither the OpenAI SDK's import (~350 ms of a cold start) nor its validation.

The OpenAI SDK is still here for custom logic (`Upstream.openai()`, built
lazily on this same signed client, exactly as Oracle's examples build it).

Retries are ours (see `retry`): each attempt gets only what is left of the
budget, and a wait that would not fit is not started, so the caller gets the
429 or 502 at once instead of the platform's timeout.

Answers are read into one buffer, capped at the platform's response limit on
their decoded bytes: an answer that could never be delivered is refused before
it fills memory. Every socket operation fits the call's budget (`transport`),
so no pace of the upstream's bytes can keep a call past `Fn-Deadline`. What the
upstream controls and the function echoes (opc-request-id, Content-Type,
Retry-After) is bounded first.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from . import auth, errors, retry, sdk_import, streams, transport
from .deadline import Budget
from .logs import CallRecord
from .settings import FUNCTIONS_PAYLOAD_LIMIT, Settings

if TYPE_CHECKING:
    import openai

#: Below this many seconds an attempt cannot do useful work.
MIN_ATTEMPT_S = 0.05
#: OCI Functions delivers at most this much of an answer (the same 6 MB as a request).
MAX_ANSWER_BYTES = FUNCTIONS_PAYLOAD_LIMIT
#: An error answer is read up to this much: enough for any message, never a whole payload.
MAX_ERROR_BYTES = 64 * 1024
#: A media type the function passes on as the answer's Content-Type (RFC 9110 token/token, parameters);
#: anything else, or longer than 200 characters, goes out as application/octet-stream.
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}(?:\s*;[\x20-\x7e]{0,128})?")


_LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=30)


@dataclass(frozen=True)
class Outbound:
    """One request to the model service, as every attempt sends it."""

    method: str
    #: Relative to the OpenAI-compatible base URL, e.g. `/responses/resp_1/input_items`.
    path: str
    #: When a failed attempt may be repeated (named so as not to shadow the `retry` module).
    retry_rule: retry.Rule
    content: bytes | None = None
    content_type: str = ""
    params: Sequence[tuple[str, str]] = ()
    #: The event stream to check for completeness, when the answer is one.
    stream: streams.Kind | None = None
    #: What a 404 means on this path ("conversation", "file"...); "" when it can only mean IAM.
    resource: str = ""
    #: Sent to OCI's control plane (vector store management) instead of the inference endpoint.
    control_plane: bool = False
    #: The calling client's own project (OpenAI-Project) and compartment (opc-compartment-id), when
    #: clients are kept apart (genai_fn/clients.py); "": the deployment's (GENAI_PROJECT_OCID, GENAI_COMPARTMENT_OCID).
    project: str = ""
    compartment: str = ""


@dataclass
class Answer:
    """A successful upstream answer, read whole."""

    status: int
    headers: httpx.Headers
    #: Read once into one buffer and handed on as it is (fdk takes bytes or bytearray).
    content: bytes | bytearray
    #: For event streams: how the stream ended (always whole here).
    ending: streams.Ending | None = None

    @property
    def content_type(self) -> str:
        """The upstream's Content-Type, if it is a well-formed media type (it is passed on to the caller)."""
        value = self.headers.get("content-type", "application/json").strip()
        return value if _MEDIA_TYPE.fullmatch(value) else "application/octet-stream"

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-case."""
        return self.content_type.split(";")[0].strip().lower()


@dataclass
class _Attempt:
    """How one attempt failed: the error for the caller and what the retry rule needs."""

    error: errors.ApiError
    failure: retry.Failure
    status: int | None = None
    wait: float | None = None


class Upstream:
    """The container's one signed client and budget-aware requests through it."""

    def __init__(self, settings: Settings, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._environ = environ
        self._http: httpx.Client | None = None
        self._openai: openai.OpenAI | None = None
        self._lock = threading.Lock()

    def auth_mode(self) -> str:
        """The concrete auth mode (`auto` resolved), or a note on why there is none."""
        try:
            return self._resolve_mode()
        except auth.CredentialsError:
            return f"{self._settings.auth_mode} (no credentials found)"

    def _resolve_mode(self) -> str:
        s = self._settings
        return auth.resolve_mode(s.auth_mode, self._environ, s.oci_config_file, s.oci_profile)

    def http(self) -> httpx.Client:
        """The shared signed client, built on first use; `ApiError` if credentials fail."""
        if self._http is None:
            with self._lock:
                if self._http is None:
                    self._http = self._build_http()
        return self._http

    def _build_http(self) -> httpx.Client:
        s = self._settings
        try:
            signer = auth.build_auth(
                self._resolve_mode(), self._environ, s.oci_config_file, s.oci_profile, api_key=s.api_key
            )
        except auth.CredentialsError as exc:
            # Not cached: the next call tries again (files may appear or be rotated).
            raise errors.credentials_unavailable(str(exc)) from exc
        return httpx.Client(
            auth=signer,
            base_url=s.base_url,
            # The project (required), as the OpenAI SDK sends it: https://docs.oracle.com/iaas/Content/generative-ai/use-project.htm
            # Accept-Encoding is set, not left to httpx (which adds br or zstd when their packages are
            # installed): `transport.read_decoded` inflates exactly these codings, within the cap.
            headers={"OpenAI-Project": s.project_ocid, "Accept-Encoding": transport.ACCEPT_ENCODING},
            transport=transport.BudgetTransport(limits=_LIMITS),
            timeout=httpx.Timeout(s.attempt_timeout_s, connect=min(10.0, s.attempt_timeout_s)),
        )

    def openai(self) -> openai.OpenAI:
        """An OpenAI SDK client on the same signed connection, for custom logic ("Make it yours").

        Built on first use: the routes that ship never import the SDK. Pass an
        explicit `timeout=` on each call (what `Budget.remaining()` allows): the
        SDK's default is 600 s, longer than any function may run.
        """
        if self._openai is None:
            http = self.http()
            with self._lock:
                if self._openai is None:
                    sdk_import.import_openai()
                    import openai

                    self._openai = openai.OpenAI(
                        base_url=self._settings.base_url,
                        # The SDK insists on a key; the signer replaces the header it makes.
                        api_key="not-used",
                        # Always explicit: otherwise the SDK would read OPENAI_PROJECT_ID from the environment.
                        project=self._settings.project_ocid,
                        # openai accepts an httpx (not only httpx2) client at run time; its stubs say otherwise.
                        http_client=http,  # type: ignore[arg-type]
                        max_retries=0,
                    )
        return self._openai

    def warm_up(self) -> None:
        """Build the client and sign one request now, without sending it (GENAI_EAGER_START).

        The request goes to an in-memory transport: the signer (which loads the
        private key) and the first RSA signature are paid before any caller
        waits; nothing reaches the network. The OpenAI SDK is imported too, so
        custom logic that uses it starts warm as well.
        """
        client = self.http()

        def answer(request: httpx.Request) -> httpx.Response:
            said = request.headers.get("authorization", "")
            if "signature" not in said.lower() and not (isinstance(client.auth, auth.ApiKeyAuth) and said):
                raise errors.credentials_unavailable("warm-up request was not signed")
            return httpx.Response(200, json={})

        with httpx.Client(auth=client.auth, base_url=client.base_url, transport=httpx.MockTransport(answer)) as offline:
            offline.post("/responses", content=b'{"input":"."}', headers={"content-type": "application/json"})
        self.openai()

    def send(self, out: Outbound, budget: Budget, record: CallRecord) -> Answer:
        """Send `out` with retries inside `budget`: the whole 2xx answer, or `ApiError`."""
        client = self.http()
        # Where it goes and how it is labelled is the same for every attempt.
        url, headers = self._destination(out)
        with transport.within(budget):
            return self._send(client, out, url, headers, budget, record)

    def _send(
        self,
        client: httpx.Client,
        out: Outbound,
        url: str,
        headers: dict[str, str],
        budget: Budget,
        record: CallRecord,
    ) -> Answer:
        s = self._settings
        while True:
            remaining = budget.remaining()
            if remaining < MIN_ATTEMPT_S:
                raise errors.deadline_exceeded(f"{record.attempts} attempt(s) made")
            record.attempts += 1
            started = time.monotonic()
            try:
                result = self._attempt(client, out, url, headers, min(s.attempt_timeout_s, remaining), budget, record)
            finally:
                record.upstream_s += time.monotonic() - started
            if isinstance(result, Answer):
                return result
            if not retry.may_retry(out.retry_rule, result.failure, result.status):
                raise result.error
            delay = result.wait if result.wait is not None else retry.backoff(record.attempts)
            # Start no wait the budget cannot cover: answer now, while there is time to.
            if record.attempts > s.max_retries or delay + MIN_ATTEMPT_S >= budget.remaining():
                raise result.error
            record.retried.append(result.failure.value if result.status is None else str(result.status))
            time.sleep(delay)

    def _destination(self, out: Outbound) -> tuple[str, dict[str, str]]:
        """The URL (relative to the inference base, or absolute on the control plane) and headers of `out`."""
        headers = {"content-type": out.content_type} if out.content_type else {}
        if out.project:
            # Replaces the client's default header for this request only: OCI keeps each project's objects apart.
            headers["OpenAI-Project"] = out.project
        if not out.control_plane:
            return out.path, headers
        s = self._settings
        compartment = out.compartment or s.compartment_ocid
        if not compartment:
            raise errors.misconfigured(
                "GENAI_COMPARTMENT_OCID is not set: OCI serves vector store management on its control plane, "
                "which needs the compartment (opc-compartment-id)."
            )
        return s.control_base_url + out.path, {**headers, "opc-compartment-id": compartment}

    def _attempt(
        self,
        client: httpx.Client,
        out: Outbound,
        url: str,
        headers: dict[str, str],
        timeout: float,
        budget: Budget,
        record: CallRecord,
    ) -> Answer | _Attempt:
        request = client.build_request(
            out.method,
            url,
            content=out.content,
            headers=headers,
            params=list(out.params),
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        )
        try:
            response = _send_signed(client, request)
        except httpx.TransportError as exc:
            return self._transport_failure(exc, record)
        try:
            record.opc_request_id = errors.upstream_request_id(response.headers) or record.opc_request_id
            limit = MAX_ANSWER_BYTES if response.is_success else MAX_ERROR_BYTES
            content = transport.read_decoded(response, limit, budget)
        except (transport.TooLarge, transport.Undecodable) as exc:
            if not response.is_success:
                content = bytearray()  # the status says what matters; the body only adds words
            elif isinstance(exc, transport.TooLarge):
                error = errors.upstream_answer_too_large(MAX_ANSWER_BYTES, record.opc_request_id)
                return _Attempt(error, retry.Failure.TOO_LARGE)
            else:
                return _Attempt(errors.upstream_malformed(record.opc_request_id, str(exc)), retry.Failure.MALFORMED)
        except httpx.TransportError as exc:
            return self._transport_failure(exc, record)
        finally:
            response.close()

        if not response.is_success:
            wait = retry.retry_after(response.headers)
            error = errors.from_upstream(
                response.status_code,
                response.headers,
                content,
                region=self._settings.region,
                retry_after_s=wait,
                resource=out.resource,
                api_key=isinstance(client.auth, auth.ApiKeyAuth),
            )
            return _Attempt(error, retry.Failure.STATUS, response.status_code, wait)

        answer = Answer(response.status_code, response.headers, content)
        if out.stream is not None and answer.media_type == "text/event-stream":
            answer.ending = streams.ending(out.stream, content)
            if not answer.ending.whole:
                record.stream_problem = answer.ending.problem
                error = errors.upstream_stream_incomplete(
                    answer.ending.problem, answer.ending.upstream_message, record.opc_request_id
                )
                return _Attempt(error, retry.Failure.INCOMPLETE_STREAM)
        return answer

    def _transport_failure(self, exc: httpx.TransportError, record: CallRecord) -> _Attempt:
        """A connection that could not be made, an answer that did not come in time, or one cut off."""
        if isinstance(exc, httpx.ConnectError):  # before anything was sent: safe to repeat any request
            return _Attempt(errors.upstream_unreachable(_describe(exc)), retry.Failure.CONNECT)
        if isinstance(exc, httpx.TimeoutException):
            message = f"upstream timed out after {record.attempts} attempt(s)"
            return _Attempt(errors.deadline_exceeded(message), retry.Failure.TIMEOUT)
        return _Attempt(errors.upstream_unreachable(_describe(exc)), retry.Failure.DROPPED)


def _send_signed(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """`client.send(request, stream=True)`, with the client's signer driven here rather than by httpx.

    The signer (oci-genai-auth) answers a 401 by re-reading the credentials and
    signing the request again. Left to httpx, the 401's body would first be read
    whole and decoded by httpx itself (httpx.Client._send_handling_auth calls
    `response.read()`): a gzip bomb in a 401, or a body that does not decode,
    would bloat or crash the call. Here the refused answer is closed unread; the
    signer looks only at its status. Only the answer that is returned is read, by
    `transport.read_decoded`, within its cap.
    """
    if client.auth is None:
        return client.send(request, stream=True)
    flow = client.auth.sync_auth_flow(request)
    try:
        signed = next(flow)
        while True:
            response = client.send(signed, stream=True, auth=None)
            try:
                signed = flow.send(response)
            except StopIteration:
                return response
            response.close()
    finally:
        flow.close()


def _describe(exc: BaseException) -> str:
    return type(exc).__name__
