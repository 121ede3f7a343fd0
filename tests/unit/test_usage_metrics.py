"""The usage-metrics function's parts (usage_metrics/metering/): the connector's batch, the sums, the chunks, the
configuration, and one batch through `App.handle` to a real telemetry-ingestion emulator on loopback, signed by an
emulated resource principal (dev/local/telemetry.py checks the signature as Monitoring would)."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dev.local.credentials import COMPARTMENT, Issuer, ResourcePrincipal
from dev.local.metrics import sums
from dev.local.runner import load_source
from dev.local.telemetry import TelemetryEmulator
from tests.conftest import invoke_direct
from usage_metrics.metering import aggregate, entries, lines, post
from usage_metrics.metering.app import App
from usage_metrics.metering.config import Config, ConfigError

NOW = datetime(2026, 12, 6, 4, 30, 15, tzinfo=timezone.utc)


def line(client: str | None = "stack.alice", model: str = "openai.gpt-oss-120b", **fields: Any) -> str:
    record = {"event": "invocation", "call_id": "C1", "status": 200, "model": model, "input_tokens": 3}
    record.update({"output_tokens": 4, **fields})
    if client is not None:
        record["client"] = client
    return json.dumps(record, separators=(",", ":"))


def entry(message: str, time: str | int | None = "2026-12-06T04:30:00.000Z", wrapped: bool = False) -> dict[str, Any]:
    """A log entry as Connector Hub delivers it (a Functions invoke log entry's fields), or wrapped in logContent."""
    found: dict[str, Any] = {
        "data": {"functionId": "ocid1.fnfunc.oc1..main", "message": message, "src": "stderr"},
        "id": "abc",
        "oracle": {"ingestedtime": "2026-12-06T04:30:01.000Z"},
        "type": "com.oraclecloud.functions.application.functioninvoke",
    }
    if time is not None:
        found["time"] = time
    return {"logContent": found} if wrapped else found


def batch(*items: object) -> bytes:
    return json.dumps(list(items)).encode()


def read(body: bytes) -> tuple[list[entries.Entry], entries.Tally]:
    tally = entries.Tally()
    return list(entries.read(body, tally)), tally


# -- the batch ---------------------------------------------------------------------------------------------------


def test_both_entry_shapes_are_read_with_their_times() -> None:
    got, tally = read(batch(entry(line()), entry(line(), time=1796531400000, wrapped=True), entry(line(), time=None)))
    assert [e.message for e in got] == [line()] * 3
    assert got[0].time == datetime(2026, 12, 6, 4, 30, tzinfo=timezone.utc)
    assert got[1].time == datetime.fromtimestamp(1796531400, timezone.utc)
    assert got[2].time is None
    assert tally == entries.Tally(entries=3)


def test_what_cannot_be_read_is_skipped_and_counted_and_the_rest_is_read() -> None:
    body = (
        b'[ 7, "text", null, {"data": {"message": 5}}, {"data": "x"}, {"no": "data"},'
        b' {"data": {"message": "a"}, "time": "yesterday"}, {"data": {"message": "b"}, "time": [1]},'
        b' {broken json}, {"data": {"message": "kept"}} ]'
    )
    got, tally = read(body)
    assert [e.message for e in got] == ["kept"]
    assert tally == entries.Tally(entries=10, unreadable=9)


def test_an_oversized_entry_or_message_is_skipped_and_counted() -> None:
    big_entry = {"data": {"message": "x"}, "padding": "p" * entries.MAX_ENTRY_CHARS}
    big_message = entry("m" * (entries.MAX_MESSAGE_CHARS + 1))
    got, tally = read(batch(big_entry, big_message, entry(line())))
    assert [e.message for e in got] == [line()]
    assert tally == entries.Tally(entries=3, oversized=2)


def test_strings_with_brackets_and_escapes_do_not_move_an_entry_boundary() -> None:
    tricky = 'a "quoted" ] } [ { \\ message'
    trailing = "ends with a backslash \\"
    got, tally = read(batch(entry(tricky), entry(trailing), trailing, entry(line())))
    assert [e.message for e in got] == [tricky, trailing, line()]
    assert tally == entries.Tally(entries=4, unreadable=1)  # the bare string is not a log entry


def test_a_truncated_body_keeps_what_came_before_the_cut() -> None:
    body = batch(entry(line()), entry(line()))
    got, tally = read(body[: len(body) - 30])
    assert len(got) == 1 and tally.truncated


def test_a_body_that_is_not_an_array_is_read_as_a_batch_of_one_and_an_empty_one_as_none() -> None:
    got, tally = read(json.dumps(entry(line())).encode())
    assert len(got) == 1 and tally.entries == 1
    assert read(b"") == ([], entries.Tally())
    assert read(b"[]") == ([], entries.Tally())
    got, tally = read(b"\xff\xfe[garbage")
    assert got == [] and tally.entries == 1 and tally.unreadable + tally.truncated


def test_deep_nesting_inside_an_entry_is_unreadable_not_a_crash() -> None:
    deep = "[" * 5000 + "]" * 5000
    got, tally = read(f'[{{"data": {{"message": "a", "deep": {deep}}}}}, {json.dumps(entry("b"))}]'.encode())
    assert [e.message for e in got] == ["b"] and tally.unreadable == 1


# -- the lines -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Received function invocation request",
        '{"event":"invocation","status":"200"}',
        '{"event":"invocation","status":200,"input_tokens":-1}',
        '{"event":"invocation","status":200,"output_tokens":true}',
        '{"event":"invocation","status":200,"client":7}',
        '{"event":"invocation","status":200,"model":null}',
        '["invocation"]',
        '{"event":"invocation"',
    ],
)
def test_a_line_that_is_not_a_countable_invocation_is_not_parsed(message: str) -> None:
    assert lines.parse(message) is None


def test_an_invocation_line_without_client_model_or_tokens_counts_as_empty_values() -> None:
    call = lines.parse('{"event":"invocation","status":502,"input_tokens":null}')
    assert call == lines.Invocation("", "", 502, 0, 0) and call.error


# -- the sums and the chunks -------------------------------------------------------------------------------------


def test_calls_are_summed_per_minute_client_and_model_with_dashes_for_missing_values() -> None:
    sums_ = aggregate.Aggregate(NOW)
    minute = NOW.replace(second=0, microsecond=0)
    for seconds, raw in [(1, line()), (50, line(status=500)), (70, line()), (2, line(client=None, model=""))]:
        call = lines.parse(raw)
        assert call is not None
        sums_.add(minute - timedelta(minutes=1) + timedelta(seconds=seconds), call)
    streams = {(s.name, s.client, s.model): s.points for s in sums_.streams()}
    earlier = minute - timedelta(minutes=1)
    assert streams["Calls", "stack.alice", "openai.gpt-oss-120b"] == [(earlier, 2.0), (minute, 1.0)]
    assert streams["ErrorCalls", "stack.alice", "openai.gpt-oss-120b"] == [(earlier, 1.0), (minute, 0.0)]
    assert streams["TotalTokens", "stack.alice", "openai.gpt-oss-120b"] == [(earlier, 14.0), (minute, 7.0)]
    assert streams["InputTokens", "-", "-"] == [(earlier, 3.0)]
    assert len(streams) == 2 * len(aggregate.METRICS) and sums_.counted == 4


def test_an_entry_without_time_counts_now_and_one_outside_monitorings_window_is_dropped_and_counted() -> None:
    sums_ = aggregate.Aggregate(NOW)
    call = lines.parse(line())
    assert call is not None
    for moment in (
        None,
        NOW - aggregate.MAX_AGE,  # PostMetricData would refuse it
        NOW - aggregate.MAX_AGE + aggregate.MARGIN + timedelta(seconds=1),
        NOW + aggregate.MAX_AHEAD,
        NOW + timedelta(minutes=1),
    ):
        sums_.add(moment, call)
    assert (sums_.counted, sums_.too_old, sums_.ahead) == (3, 1, 1)
    minutes = [m for m, _ in next(sums_.streams()).points]
    assert NOW.replace(second=0, microsecond=0) in minutes


def test_a_dimension_value_is_cut_to_monitorings_limit() -> None:
    sums_ = aggregate.Aggregate(NOW)
    call = lines.parse(line(client="c" * 600))
    assert call is not None
    sums_.add(NOW, call)
    assert {len(s.client) for s in sums_.streams()} == {aggregate.MAX_DIMENSION_CHARS}


def test_pairs_past_the_bound_are_counted_under_one_other_pair_and_totals_kept() -> None:
    sums_ = aggregate.Aggregate(NOW)
    for i in range(aggregate.MAX_PAIRS + 40):
        call = lines.parse(line(model=f"m{i}"))
        assert call is not None
        sums_.add(NOW, call)
    streams = list(sums_.streams())
    pairs = {(s.client, s.model) for s in streams}
    assert len(pairs) == aggregate.MAX_PAIRS + 1 and (aggregate.OTHER, aggregate.OTHER) in pairs
    assert sums_.folded == 40 and sums_.counted == aggregate.MAX_PAIRS + 40
    calls = [s for s in streams if s.name == "Calls"]
    assert sum(v for s in calls for _, v in s.points) == aggregate.MAX_PAIRS + 40
    assert [v for s in calls if s.model == aggregate.OTHER for _, v in s.points] == [40.0]


def test_streams_are_chunked_at_fifty_per_request() -> None:
    sums_ = aggregate.Aggregate(NOW)
    for i in range(11):
        call = lines.parse(line(client=f"c{i:02}"))
        assert call is not None
        sums_.add(NOW, call)
    chunks = list(aggregate.chunks(sums_.streams()))
    assert [len(c) for c in chunks] == [50, 5]
    assert len({(s.name, s.client) for c in chunks for s in c}) == 55


# -- the configuration -------------------------------------------------------------------------------------------


def config_env(**values: str) -> dict[str, str]:
    return {"USAGE_METRICS_COMPARTMENT_OCID": COMPARTMENT, "OCI_RESOURCE_PRINCIPAL_REGION": "us-chicago-1", **values}


def test_the_defaults_post_to_the_telemetry_ingestion_endpoint_of_the_functions_region() -> None:
    config = Config.from_environ(config_env())
    assert config == Config(COMPARTMENT, "genai_gateway", "https://telemetry-ingestion.us-chicago-1.oraclecloud.com")
    assert Config.from_environ(config_env(OCI_RESOURCE_PRINCIPAL_REGION="phx")).endpoint == (
        "https://telemetry-ingestion.us-phoenix-1.oraclecloud.com"
    )
    local = Config.from_environ(config_env(USAGE_METRICS_ENDPOINT="http://127.0.0.1:9/", USAGE_METRICS_NAMESPACE="x_1"))
    assert (local.endpoint, local.namespace) == ("http://127.0.0.1:9", "x_1")


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"USAGE_METRICS_COMPARTMENT_OCID": ""}, "USAGE_METRICS_COMPARTMENT_OCID"),
        ({"USAGE_METRICS_COMPARTMENT_OCID": "ocid1.vcn.oc1..x"}, "USAGE_METRICS_COMPARTMENT_OCID"),
        ({"USAGE_METRICS_NAMESPACE": "GenAI"}, "USAGE_METRICS_NAMESPACE"),
        ({"USAGE_METRICS_NAMESPACE": "oci_tokens"}, "USAGE_METRICS_NAMESPACE"),
        ({"USAGE_METRICS_NAMESPACE": "oracle_tokens"}, "USAGE_METRICS_NAMESPACE"),
        ({"USAGE_METRICS_NAMESPACE": "1tokens"}, "USAGE_METRICS_NAMESPACE"),
        ({"USAGE_METRICS_NAMESPACE": "to-kens"}, "USAGE_METRICS_NAMESPACE"),
        ({"USAGE_METRICS_ENDPOINT": "telemetry.local"}, "USAGE_METRICS_ENDPOINT"),
        ({"OCI_RESOURCE_PRINCIPAL_REGION": ""}, "OCI_RESOURCE_PRINCIPAL_REGION"),
    ],
)
def test_a_bad_setting_is_refused_by_name(values: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Config.from_environ(config_env(**values))
    assert str(refused.value).startswith(named)


def test_a_bad_configuration_answers_every_call_with_its_name() -> None:
    app = App.from_environ({"OCI_RESOURCE_PRINCIPAL_REGION": "us-chicago-1"})
    status, body = app.handle(batch(entry(line())), None)
    assert status == 502 and body["error"].startswith("USAGE_METRICS_COMPARTMENT_OCID")


# -- one batch to a real (emulated) Monitoring -------------------------------------------------------------------


@pytest.fixture
def telemetry(issuer: Issuer) -> Iterator[TelemetryEmulator]:
    with TelemetryEmulator(issuer) as emulator:
        yield emulator


@pytest.fixture
def signed_env(principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resource principal's variables in this process, as OCI Functions sets them in the container."""
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def app(telemetry: TelemetryEmulator, signed_env: None, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setattr(post, "BACKOFF_S", 0.01)  # the retries' pace, not what is retried
    return App.from_environ(config_env(USAGE_METRICS_ENDPOINT=telemetry.base_url))


def deadline(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


def now_entry(message: str) -> dict[str, Any]:
    return entry(message, time=datetime.now(timezone.utc).isoformat())


def test_a_batch_is_posted_as_sums_and_summarised_in_one_line(
    app: App, telemetry: TelemetryEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    old = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
    body = batch(
        now_entry(line()),
        now_entry(line(model="xai.grok-4", status=429, input_tokens=None, output_tokens=None)),
        now_entry(line()),
        now_entry("Received function invocation request"),
        now_entry('{"event":"invocation","status":"x"}'),
        entry(line(), time=old),
        "not an entry",
    )
    status, summary = app.handle(body, deadline(30))
    assert status == 200, summary
    assert sums(telemetry.datapoints) == {
        ("stack.alice", "openai.gpt-oss-120b"): {
            "Calls": 2,
            "ErrorCalls": 0,
            "InputTokens": 6,
            "OutputTokens": 8,
            "TotalTokens": 14,
        },
        ("stack.alice", "xai.grok-4"): {
            "Calls": 1,
            "ErrorCalls": 1,
            "InputTokens": 0,
            "OutputTokens": 0,
            "TotalTokens": 0,
        },
    }
    assert {p["namespace"] for p in telemetry.datapoints} == {"genai_gateway"}
    assert {p["compartmentId"] for p in telemetry.datapoints} == {COMPARTMENT}
    assert [p.status for p in telemetry.posts] == [200]
    expected = {"entries": 7, "counted": 3, "ignored": 1, "unreadable": 2, "too_old": 1, "streams": 10, "chunks": 1}
    assert {k: summary[k] for k in expected} == expected
    logged = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith('{"event": "usage_metrics"')]
    assert logged == [summary]


def test_throttling_and_server_errors_are_retried_within_the_call(app: App, telemetry: TelemetryEmulator) -> None:
    telemetry.inject(429)
    telemetry.inject(503)
    status, summary = app.handle(batch(now_entry(line())), deadline(30))
    assert status == 200 and summary["attempts"] == 3
    assert [p.status for p in telemetry.posts] == [429, 503, 200]
    assert sums(telemetry.datapoints)["stack.alice", "openai.gpt-oss-120b"]["Calls"] == 1


def test_a_chunk_that_keeps_failing_fails_the_invocation_and_the_others_are_still_posted(
    app: App, telemetry: TelemetryEmulator
) -> None:
    telemetry.inject(500, times=post.MAX_ATTEMPTS)  # the first chunk, every attempt
    body = batch(*(now_entry(line(client=f"c{i:02}")) for i in range(11)))
    status, summary = app.handle(body, deadline(30))
    assert status == 502, summary
    assert (summary["chunks"], summary["failed_chunks"]) == (2, 1)
    assert "after 4 attempts: 500" in summary["failures"][0]
    assert {p["dimensions"]["client"] for p in telemetry.datapoints} == {"c10"}  # the second chunk's 5 streams


def test_a_chunk_monitoring_refuses_as_invalid_is_counted_not_retried(app: App, telemetry: TelemetryEmulator) -> None:
    telemetry.inject(400)
    status, summary = app.handle(batch(now_entry(line())), deadline(30))
    assert status == 200 and summary["failed_metrics"] == 5 and summary["attempts"] == 1
    assert telemetry.datapoints == []


def test_no_attempt_is_started_without_time_left_before_the_deadline(app: App, telemetry: TelemetryEmulator) -> None:
    status, summary = app.handle(batch(now_entry(line())), deadline(2.5))
    assert status == 502 and summary["attempts"] == 0 and "deadline" in summary["failures"][0]
    assert telemetry.posts == []


def test_a_monitoring_that_does_not_answer_is_given_up_before_the_calls_deadline(
    app: App, telemetry: TelemetryEmulator
) -> None:
    telemetry.inject(0, delay_s=60)  # answers after the call's deadline, or never
    status, summary = app.handle(batch(now_entry(line())), deadline(5))
    # The attempt's read timeout was what was left of the call (5 s less the margin): no time for a second one.
    assert status == 502 and summary["attempts"] == 1, summary
    assert "Read timed out" in summary["failures"][0], summary


def test_a_principal_monitoring_does_not_trust_is_refused_and_the_invocation_fails(
    telemetry: TelemetryEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ResourcePrincipal(Issuer()) as stranger:
        for name, value in stranger.environ().items():
            monkeypatch.setenv(name, value)
        app = App.from_environ(config_env(USAGE_METRICS_ENDPOINT=telemetry.base_url))
        status, summary = app.handle(batch(now_entry(line())), deadline(30))
    assert status == 502 and "401" in summary["failures"][0]
    # The oci SDK reads the principal's files again after a 401 and resends once: both refused.
    assert {p.status for p in telemetry.posts} == {401} and telemetry.datapoints == []
    assert "security token is invalid" in telemetry.posts[0].reason


def test_nothing_to_count_posts_nothing(app: App, telemetry: TelemetryEmulator) -> None:
    status, summary = app.handle(batch(now_entry("Served function invocation request in 0.1 seconds")), None)
    assert status == 200 and summary["ignored"] == 1 and summary["chunks"] == 0
    assert telemetry.posts == []


def test_the_function_imports_only_the_standard_library_and_its_pinned_dependencies() -> None:
    # The tests run it on .venv's packages; its image has only what usage_metrics/requirements.in names.
    root = Path(aggregate.__file__).parent.parent
    pinned = {line.split("==")[0] for line in (root / "requirements.in").read_text().splitlines() if "==" in line}
    assert pinned == {"fdk", "oci"}
    imported: set[str] = set()
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported, "no imports found: has the folder moved?"
    # Its own modules by the package's one name (`usage_metrics`), as the image holds it (usage_metrics/Dockerfile).
    assert sorted(imported - sys.stdlib_module_names - pinned - {"__future__", "usage_metrics"}) == []


def load_func(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Any:
    """usage_metrics/func.py imported by path as fdk does; it imports the package `usage_metrics`, which the
    repository holds as the image's /function does."""
    root = Path(aggregate.__file__).parent.parent
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_source(root / "func.py", "usage_metrics_func", monkeypatch)


def test_the_handler_answers_through_fdk_with_the_summary(
    telemetry: TelemetryEmulator, signed_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    func = load_func(monkeypatch, config_env(USAGE_METRICS_ENDPOINT=telemetry.base_url))
    data, status, headers = invoke_direct(func.handler, batch(now_entry(line())))
    assert status == 200 and headers["content-type"] == "application/json"
    summary = json.loads(data)
    assert summary["event"] == "usage_metrics" and summary["counted"] == 1 and summary["chunks"] == 1
    assert sums(telemetry.datapoints)["stack.alice", "openai.gpt-oss-120b"]["TotalTokens"] == 7


def test_the_handler_answers_a_bad_configuration_with_a_502_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USAGE_METRICS_COMPARTMENT_OCID", raising=False)
    func = load_func(monkeypatch, {"OCI_RESOURCE_PRINCIPAL_REGION": "us-chicago-1", "USAGE_METRICS_NAMESPACE": "oci_x"})
    data, status, _ = invoke_direct(func.handler, batch(now_entry(line())))
    assert status == 502 and json.loads(data)["error"].startswith("USAGE_METRICS_COMPARTMENT_OCID")
