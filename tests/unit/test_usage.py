"""make usage (ops/usage.py): the window, what is counted and what is skipped, the three outputs."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops import usage

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def line(model: str, status: object = 200, inp: int | None = 10, out: int | None = 5, **extra: object) -> str:
    record = {"event": "invocation", "call_id": "C", "model": model, "status": status}
    record |= {"input_tokens": inp, "output_tokens": out, "route": "responses.create", "latency_ms": 12.5, **extra}
    return json.dumps(record)


def envelope(message: str, at: datetime) -> str:
    return json.dumps({"time": at.isoformat(), "data": {"message": message}})


@pytest.mark.parametrize(
    ("since", "start", "end", "expected"),
    [
        (None, None, None, (NOW - timedelta(hours=24), NOW)),
        ("30m", None, None, (NOW - timedelta(minutes=30), NOW)),
        ("7d", None, None, (NOW - timedelta(days=7), NOW)),
        (None, "2026-12-01T00:00Z", None, (datetime(2026, 12, 1, tzinfo=timezone.utc), NOW)),
        (
            None,
            "2026-12-01T00:00",
            "2026-12-02T01:00+01:00",
            (datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 12, 2, tzinfo=timezone.utc)),
        ),
    ],
)
def test_window(since, start, end, expected):
    window = usage.parse_window(since, start, end, NOW)
    assert (window.start, window.end) == expected


@pytest.mark.parametrize(
    ("since", "start", "end", "named"),
    [
        ("24", None, None, "--since"),
        ("0h", None, None, "--since"),
        ("-1h", None, None, "--since"),
        ("1w", None, None, "--since"),
        ("24h", "2026-12-01", None, "--since cannot be combined"),
        (None, None, "2026-12-01", "--to needs --from"),
        (None, "yesterday", None, "--from"),
        (None, "2026-12-01", "2026-13-01", "--to"),
        (None, "2026-12-02", "2026-12-01", "must be before --to"),
    ],
)
def test_a_bad_window_names_the_option(since, start, end, named):
    with pytest.raises(usage.UsageError, match=named):
        usage.parse_window(since, start, end, NOW)


def test_counts_by_client_and_model_and_skips_what_it_cannot_read():
    report = usage.Report(usage.Window(NOW - timedelta(hours=1), NOW))
    inside = NOW - timedelta(minutes=5)
    report.add(inside, line("m1", client="alice"))
    report.add(inside, line("m1", client="alice", inp=3, out=None, status=502))
    report.add(inside, line("m2", client="bob", inp=7, out=2))
    report.add(inside, line("m2"))  # written before the client was logged
    report.add(inside, "Received function invocation request")  # the platform's own lines: not ours, ignored
    report.add(inside, '{"event": "invocation", "model": "m1", "status": 200')  # cut short
    report.add(inside, line("m1", inp=-1))
    report.add(inside, line("m1", status="200"))
    report.add(inside, json.dumps({"event": "invocation", "model": 3, "status": 200}))
    report.add(None, None)  # an entry with no readable message
    report.add(NOW - timedelta(hours=2), line("m1", client="alice"))  # outside the window
    report.add(NOW, line("m1", client="alice"))  # the window's end is excluded

    assert [tuple(row.values()) for row in report.table()] == [
        # client, model, calls, errors, input_tokens, output_tokens, total_tokens
        ("", "m2", 1, 0, 10, 5, 15),
        ("alice", "m1", 2, 1, 13, 5, 18),
        ("bob", "m2", 1, 0, 7, 2, 9),
    ]
    assert list(report.table()[0]) == list(usage.COLUMNS)
    assert (report.malformed, report.outside) == (5, 2)
    assert (report.total().calls, report.total().total_tokens) == (4, 42)


def test_local_report_in_every_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "invocations.jsonl"
    path.write_text(
        "\n".join(
            [
                envelope(line("openai.gpt-oss-120b", client="alice"), NOW - timedelta(hours=1)),
                envelope(line("openai.gpt-oss-120b", client="alice", inp=1, out=1), NOW - timedelta(hours=2)),
                envelope(line("xai.grok-4", client="bob", inp=100, out=50), NOW - timedelta(minutes=1)),
                envelope(line("xai.grok-4", client="bob"), NOW - timedelta(days=2)),  # outside --since 24h
                "not json at all",
                '{"time": "2026-12-06T11:00:00Z"}',
                "",
            ]
        )
    )
    args = ["--local", "--file", str(path)]

    assert usage.main([*args, "--json"], now=NOW) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["total"] == {"calls": 3, "errors": 0, "input_tokens": 111, "output_tokens": 56, "total_tokens": 167}
    assert [(r["client"], r["model"], r["calls"]) for r in report["rows"]] == [
        ("alice", "openai.gpt-oss-120b", 2),
        ("bob", "xai.grok-4", 1),
    ]
    assert report["malformed_lines"] == 2
    assert "2 unreadable invocation line(s) skipped" in err

    assert usage.main([*args, "--csv", "--since", "90m"], now=NOW) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["client"], r["model"], r["input_tokens"], r["total_tokens"]) for r in rows] == [
        ("alice", "openai.gpt-oss-120b", "10", "15"),
        ("bob", "xai.grok-4", "100", "150"),
    ]

    assert usage.main(args, now=NOW) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split() == list(usage.COLUMNS)
    assert table[2].split() == ["alice", "openai.gpt-oss-120b", "2", "0", "11", "6", "17"]
    assert table[-1].split() == ["TOTAL", "3", "0", "111", "56", "167"]


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert usage.main(["--local", "--file", str(tmp_path / "none.jsonl")], now=NOW) == 2
    assert "--file" in capsys.readouterr().err
    assert usage.main(["--local", "--since", "yesterday"], now=NOW) == 2
    assert "--since: 'yesterday' is not a duration" in capsys.readouterr().err
    assert usage.main(["--scope", "c/g/l"], now=NOW) == 2
    assert "--scope and --region go together" in capsys.readouterr().err
