"""The local stack's Monitoring and Connector Hub (dev/local/telemetry.py, dev/local/connector.py) and
`python -m dev.local.metrics`: the rules PostMetricData applies, checked on a real socket with requests the oci
SDK signs, and the connector's at-least-once delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import oci
import pytest

from dev.local import metrics
from dev.local.connector import LocalConnector
from dev.local.credentials import COMPARTMENT, Issuer, ResourcePrincipal
from dev.local.runner import PlatformResponse, append_invocation
from dev.local.telemetry import TelemetryEmulator


@pytest.fixture
def telemetry(issuer: Issuer, tmp_path: Path) -> Iterator[TelemetryEmulator]:
    with TelemetryEmulator(issuer, record=tmp_path / "metrics.jsonl") as emulator:
        yield emulator


def client_for(principal: ResourcePrincipal, telemetry: TelemetryEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    return oci.monitoring.MonitoringClient(
        {},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=telemetry.base_url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


@pytest.fixture
def monitoring(principal: ResourcePrincipal, telemetry: TelemetryEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    return client_for(principal, telemetry, monkeypatch)


def stream(name: str = "Calls", *, at: datetime | None = None, value: Any = 1.0, **fields: Any) -> dict[str, Any]:
    moment = (at or datetime.now(timezone.utc)).isoformat()
    return {
        "namespace": "genai_gateway",
        "compartmentId": COMPARTMENT,
        "name": name,
        "dimensions": {"client": "c", "model": "m"},
        "datapoints": [{"timestamp": moment, "value": value}],
        **fields,
    }


def post(monitoring: Any, streams: list[dict[str, Any]], atomicity: str = "NON_ATOMIC") -> Any:
    return monitoring.post_metric_data({"metricData": streams, "batchAtomicity": atomicity})


def test_a_signed_post_is_kept_and_recorded(monitoring: Any, telemetry: TelemetryEmulator) -> None:
    answer = post(monitoring, [stream(), stream("TotalTokens", value=12)])
    assert answer.status == 200 and answer.data.failed_metrics_count == 0
    assert [(p["name"], p["value"]) for p in telemetry.datapoints] == [("Calls", 1.0), ("TotalTokens", 12)]
    assert telemetry.record is not None
    assert metrics.read(telemetry.record) == telemetry.datapoints


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"namespace": "oci_tokens"}, "invalid namespace"),
        ({"namespace": "Tokens"}, "invalid namespace"),
        ({"compartmentId": ""}, "compartmentId"),
        ({"name": "1calls"}, "invalid metric name"),
        ({"dimensions": {}}, "dimensions"),
        ({"dimensions": {"client": ""}}, "dimension values"),
        ({"datapoints": []}, "datapoints"),
        ({"datapoints": [{"timestamp": "2020-01-01T00:00:00Z", "value": 1}]}, "not within"),
        ({"datapoints": [{"timestamp": datetime.now(timezone.utc).isoformat(), "value": "1"}]}, "value"),
    ],
)
def test_a_stream_monitoring_refuses_is_reported_and_the_rest_kept(
    monitoring: Any, telemetry: TelemetryEmulator, bad: dict[str, Any], why: str
) -> None:
    answer = post(monitoring, [stream(**bad), stream()])
    assert answer.status == 200 and answer.data.failed_metrics_count == 1
    assert why in answer.data.failed_metrics[0].message
    assert len(telemetry.datapoints) == 1


def test_timestamps_more_than_two_hours_old_or_ten_minutes_ahead_are_refused(
    monitoring: Any, telemetry: TelemetryEmulator
) -> None:
    now = datetime.now(timezone.utc)
    answer = post(
        monitoring,
        [
            stream(at=now - timedelta(hours=2, seconds=5)),
            stream(at=now + timedelta(minutes=10, seconds=5)),
            stream(at=now - timedelta(hours=1, minutes=55)),
            stream(at=now + timedelta(minutes=5)),
        ],
    )
    assert answer.data.failed_metrics_count == 2 and len(telemetry.datapoints) == 2


@pytest.mark.parametrize("count", [0, 51])
def test_more_than_fifty_streams_or_none_is_a_bad_request(
    monitoring: Any, telemetry: TelemetryEmulator, count: int
) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        post(monitoring, [stream() for _ in range(count)])
    assert refused.value.status == 400 and telemetry.datapoints == []


def test_atomic_keeps_nothing_of_a_request_with_a_bad_stream_and_non_atomic_needs_one_good(
    monitoring: Any, telemetry: TelemetryEmulator
) -> None:
    for streams, atomicity in ([stream(), stream(namespace="oracle_x")], "ATOMIC"), ([stream(name="")], "NON_ATOMIC"):
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            post(monitoring, streams, atomicity)
        assert refused.value.status == 400
    assert telemetry.datapoints == []


def test_a_request_signed_by_a_principal_iam_did_not_issue_is_refused(
    telemetry: TelemetryEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ResourcePrincipal(Issuer()) as stranger:
        client = client_for(stranger, telemetry, monkeypatch)
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            post(client, [stream()])
    assert refused.value.status == 401 and refused.value.code == "NotAuthenticated"
    assert telemetry.datapoints == []


def test_an_injected_fault_is_answered_after_the_signature_check(monitoring: Any, telemetry: TelemetryEmulator) -> None:
    telemetry.inject(500)
    with pytest.raises(oci.exceptions.ServiceError) as failed:
        post(monitoring, [stream()])
    assert failed.value.status == 500
    assert post(monitoring, [stream()]).status == 200 and len(telemetry.datapoints) == 1


# -- the connector ---------------------------------------------------------------------------------------------


class Target:
    """What the connector invokes: records each batch, answers with the next status."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.batches: list[list[dict[str, Any]]] = []

    def __call__(self, body: bytes) -> PlatformResponse:
        self.batches.append(json.loads(body))
        return PlatformResponse(self.statuses.pop(0) if self.statuses else 200, {}, b"{}")


def messages(batch: list[dict[str, Any]]) -> list[str]:
    return [entry["data"]["message"] for entry in batch]


def test_the_connector_delivers_new_complete_lines_in_batches_once_taken(tmp_path: Path) -> None:
    source = tmp_path / "invocations.jsonl"
    for i in range(5):
        append_invocation(source, f'{{"event":"invocation","n":{i}}}')
    with source.open("a") as f:
        f.write('{"time": "2026-12-06T00:00:00Z", "data": {"mess')  # a line still being written
    target = Target()
    connector = LocalConnector(source, target, batch_entries=2)
    assert connector.deliver()
    assert [len(b) for b in target.batches] == [2, 2, 1]
    assert all(set(entry) == {"time", "data"} for b in target.batches for entry in b)
    assert connector.deliver() and len(target.batches) == 3  # nothing new: nothing sent
    with source.open("a") as f:
        f.write('age": "late"}}\nnot json\n')
    assert connector.deliver()
    assert messages(target.batches[-1]) == ["late"] and connector.skipped_lines == 1


def test_a_batch_the_function_fails_is_delivered_again_and_the_lines_after_it_wait(tmp_path: Path) -> None:
    source = tmp_path / "invocations.jsonl"
    for i in range(3):
        append_invocation(source, f"line {i}")
    target = Target(200, 502)
    connector = LocalConnector(source, target, batch_entries=2)
    assert not connector.deliver()
    assert (connector.delivered, connector.failed) == (1, 1)
    assert connector.deliver()
    assert [messages(b) for b in target.batches] == [["line 0", "line 1"], ["line 2"], ["line 2"]]


def test_the_connector_keeps_each_batch_within_the_payload_limit(tmp_path: Path) -> None:
    source = tmp_path / "invocations.jsonl"
    for i in range(4):
        append_invocation(source, f"{i}" + "x" * 400)
    target = Target()
    LocalConnector(source, target, max_batch_bytes=1000).deliver()
    assert [len(b) for b in target.batches] == [2, 2]


# -- python -m dev.local.metrics -------------------------------------------------------------------------------


def test_the_local_metrics_are_summed_by_client_and_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "metrics.jsonl"
    points = [
        {"name": "TotalTokens", "dimensions": {"client": "a", "model": "m"}, "value": 5.0},
        {"name": "TotalTokens", "dimensions": {"client": "a", "model": "m"}, "value": 7.0},
        {"name": "Calls", "dimensions": {"client": "b", "model": "m"}, "value": 2.0},
    ]
    record.write_text("".join(json.dumps(p) + "\n" for p in points))
    assert metrics.main(["--file", str(record)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["client", "model", *metrics.METRICS]
    assert out[1].split() == ["a", "m", "0", "0", "0", "0", "12"]
    assert out[2].split() == ["b", "m", "2", "0", "0", "0", "0"]
    assert metrics.main(["--file", str(tmp_path / "none.jsonl")]) == 2
