"""make usage against a deployed stack: the oci SDK's SearchLogs, signed, paged, against a real local server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops import usage
from tests.deploy.fake_logging import SigningKey, log_entry, serve

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
SCOPE = "ocid1.compartment.oc1..c/ocid1.loggroup.oc1..g/ocid1.log.oc1..l"


def invocation(client: str, model: str, inp: int, out: int, status: int = 200) -> str:
    return json.dumps(
        {"event": "invocation", "client": client, "model": model, "status": status, "input_tokens": inp}
        | {"output_tokens": out, "route": "responses.create", "latency_ms": 40.1}
    )


def entries() -> list[dict]:
    at = (NOW - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    found = [log_entry("Received function invocation request", at)]
    for i in range(23):
        found.append(log_entry(invocation("alice" if i % 2 else "bob", f"model-{i % 3}", i, 2 * i), at))
    found.append(log_entry('{"event": "invocation", "status": ', at))
    found.append({"datetime": 0, "logContent": {"time": at}})  # no data.message
    found.append(log_entry("Served function invocation request in 0.210 seconds", at))
    return found


def expected() -> dict[tuple[str, str], tuple[int, int, int]]:
    sums: dict[tuple[str, str], tuple[int, int, int]] = {}
    for i in range(23):
        key = ("alice" if i % 2 else "bob", f"model-{i % 3}")
        calls, inp, out = sums.get(key, (0, 0, 0))
        sums[key] = (calls + 1, inp + i, out + 2 * i)
    return sums


def test_search_pages_through_the_invoke_log(tmp_path: Path):
    signer = SigningKey(tmp_path)
    config = signer.write_config(profile="USAGE")
    window = usage.Window(NOW - timedelta(hours=1), NOW)
    source = usage.LogSource(SCOPE, "us-chicago-1", "USAGE")
    with serve(entries(), signer) as (endpoint, searches):
        found = usage.oci_entries(source, window, config_file=str(config), service_endpoint=endpoint, page_size=5)
        report = usage.build(found, window)

    assert {k: (t.calls, t.input_tokens, t.output_tokens) for k, t in report.rows.items()} == expected()
    assert report.malformed == 2
    # 27 entries, 5 a page: six requests, each after the first naming the page the previous one gave.
    assert [(s.limit, s.page) for s in searches] == [(5, None), (5, "5"), (5, "10"), (5, "15"), (5, "20"), (5, "25")]
    body = searches[0].body
    assert body["searchQuery"] == f'search "{SCOPE}" | sort by datetime asc'
    assert datetime.fromisoformat(body["timeStart"].replace("Z", "+00:00")) == window.start
    assert datetime.fromisoformat(body["timeEnd"].replace("Z", "+00:00")) == window.end
    assert all(s.body == body for s in searches)


def test_make_usage_json_from_logging(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    signer = SigningKey(tmp_path)
    config = signer.write_config()
    with serve(entries(), signer) as (endpoint, _):
        argv = ["--scope", SCOPE, "--region", "us-chicago-1", "--config-file", str(config), "--endpoint", endpoint]
        assert usage.main([*argv, "--json", "--since", "2h"], now=NOW) == 0
    report = json.loads(capsys.readouterr().out)
    sums = expected()
    assert report["total"]["calls"] == 23
    assert report["total"]["input_tokens"] == sum(v[1] for v in sums.values())
    got = {(r["client"], r["model"]): (r["calls"], r["input_tokens"], r["output_tokens"]) for r in report["rows"]}
    assert got == sums


def test_a_refused_search_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "server").mkdir()
    (tmp_path / "client").mkdir()
    server_key, other_key = SigningKey(tmp_path / "server"), SigningKey(tmp_path / "client")
    config = other_key.write_config()
    with serve(entries(), server_key) as (endpoint, searches):
        argv = ["--scope", SCOPE, "--region", "us-chicago-1", "--config-file", str(config), "--endpoint", endpoint]
        assert usage.main(argv, now=NOW) == 2
    assert "Logging search refused: 401 NotAuthenticated" in capsys.readouterr().err
    assert searches == []


def test_a_missing_profile_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config = SigningKey(tmp_path).write_config(profile="OTHER")
    argv = ["--scope", SCOPE, "--region", "us-chicago-1", "--config-file", str(config), "--profile", "NOPE"]
    assert usage.main(argv, now=NOW) == 2
    assert "--config-file/--profile" in capsys.readouterr().err


def test_the_log_comes_from_terraform_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    signer = SigningKey(tmp_path)
    config = signer.write_config(profile="TF")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "terraform"
    output = json.dumps({"search_scope": SCOPE, "region": "us-chicago-1", "profile": "TF"})
    # Answers only what make usage asks; anything else fails, as a missing output would.
    fake.write_text(
        '#!/bin/sh\n[ "$2 $3 $4" = "output -json usage_log" ] || { echo "unexpected: $*" >&2; exit 1; }\n'
        f"echo '{output}'\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with serve(entries(), signer) as (endpoint, searches):
        assert usage.main(["--config-file", str(config), "--endpoint", endpoint, "--json"], now=NOW) == 0
    assert json.loads(capsys.readouterr().out)["total"]["calls"] == 23
    assert searches[0].body["searchQuery"].startswith(f'search "{SCOPE}"')

    fake.write_text("#!/bin/sh\necho 'No outputs found' >&2\nexit 1\n")
    assert usage.main(["--config-file", str(config)], now=NOW) == 2
    assert "terraform output usage_log failed (No outputs found)" in capsys.readouterr().err
