"""`make usage`: calls and tokens by client and model, from the function's own log lines.

    python -m ops.usage [--since 24h | --from 2026-12-01T00:00Z [--to ...]] [--json | --csv]
    python -m ops.usage --local [--file .cache/local-stack/invocations.jsonl]

The function writes one JSON line per call (`"event": "invocation"`,
genai_fn/logs.py) with the model, the status and the token counts the
upstream reported. Deployed, OCI Functions sends that line to the
application's invoke log as `data.message` ("Details for Functions",
https://docs.oracle.com/en-us/iaas/Content/Logging/Reference/details_for_functions.htm),
where this reads it back with Logging's search API (SearchLogs,
https://docs.oracle.com/iaas/api/#/en/logging-search/20190909/SearchResult/SearchLogs,
query syntax: https://docs.oracle.com/en-us/iaas/Content/Logging/Reference/query_language_specification.htm),
page by page, signed with your own OCI config profile; it only reads. Which
log to search comes from `terraform output usage_log`. Locally, `make run`
appends the same lines to .cache/local-stack/invocations.jsonl
(dev/local/runner.py), each in the envelope Logging gives it: `time` and
`data.message`.

With `--local`, while `make run` runs with a token limit, the report ends with
each limited client's current windows read from the local store (used, limit,
left, reset). Deployed, the store is in a private subnet this command does not
reach; each limited call's log line carries what the client was told
(`tokens_remaining`, and `limit`: ok, exceeded, store_unavailable), which
Logging's search shows (docs/usage-and-alarms.md).

Which lines count, and how they are read, is usage_metrics/metering/lines.py: the
usage-metrics function counts with the same rules. A line that claims to be an
invocation but cannot be read is skipped and counted (the count is printed); no line makes the report fail, and a window
that makes no sense does, with the option to fix named.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from usage_metrics.metering import lines
from usage_metrics.report import INVOCATIONS as LOCAL_FILE
from usage_metrics.report import LIMITS_STATE, aligned

ROOT = Path(__file__).resolve().parent.parent
#: Results per SearchLogs page: the API's largest `limit`.
PAGE_SIZE = 1000
_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class UsageError(Exception):
    """Bad input to the report; the message names the option to fix."""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def parse_time(value: str, option: str) -> datetime:
    """An ISO 8601 time (`Z` allowed); one without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option}: {value!r} is not an ISO 8601 time (e.g. 2026-12-01T00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_window(since: str | None, start: str | None, end: str | None, now: datetime) -> Window:
    """The report's window: `--since` back from now, or `--from` (to `--to`, default now)."""
    if since and (start or end):
        raise UsageError("--since cannot be combined with --from/--to: use one or the other")
    if start or end:
        if not start:
            raise UsageError("--to needs --from")
        window = Window(parse_time(start, "--from"), parse_time(end, "--to") if end else now)
    else:
        text = (since or "24h").strip().lower()
        match = _DURATION.match(text)
        if not match or int(match.group(1)) == 0:
            raise UsageError(f"--since: {since!r} is not a duration like 30m, 24h or 7d")
        window = Window(now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}), now)
    if window.start >= window.end:
        raise UsageError(f"--from ({window.start.isoformat()}) must be before --to ({window.end.isoformat()})")
    return window


@dataclass
class Totals:
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class Report:
    """Calls and tokens by (client, model), and what could not be counted."""

    window: Window
    rows: dict[tuple[str, str], Totals] = field(default_factory=dict)
    #: Lines that claimed to be invocations but could not be read (skipped, counted).
    malformed: int = 0
    #: Invocation lines outside the window (only the local file has any; Logging filters by time).
    outside: int = 0

    def add(self, moment: datetime | None, message: str | None) -> None:
        """Count one log message; lines that are not the function's invocation line are ignored.

        `message` None is an entry that could not be read at all (counted as malformed).
        """
        if message is None:
            self.malformed += 1
            return
        if not lines.is_candidate(message):
            return  # fdk's own lines, the platform's "Received function invocation request", ...
        call = lines.parse(message)
        if call is None:
            self.malformed += 1
            return
        if moment is not None and moment not in self.window:
            self.outside += 1
            return
        # `client` (the gateway's client name) is absent from lines written before it was logged.
        totals = self.rows.setdefault((call.client, call.model), Totals())
        totals.calls += 1
        totals.errors += call.error
        totals.input_tokens += call.input_tokens
        totals.output_tokens += call.output_tokens

    def total(self) -> Totals:
        whole = Totals()
        for row in self.rows.values():
            whole.calls += row.calls
            whole.errors += row.errors
            whole.input_tokens += row.input_tokens
            whole.output_tokens += row.output_tokens
        return whole

    def table(self) -> list[dict[str, Any]]:
        return [
            {"client": client, "model": model, **asdict(t), "total_tokens": t.total_tokens}
            for (client, model), t in sorted(self.rows.items())
        ]


# -- sources --------------------------------------------------------------------


#: A log entry's time and message; message None: the entry could not be read.
Entry = tuple[datetime | None, str | None]


def local_entries(path: Path) -> Iterator[Entry]:
    """The (time, message) pairs of the local stack's file, one envelope a line."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                envelope = json.loads(line)
                moment = parse_time(envelope["time"], "time")
                message = envelope["data"]["message"]
            except (ValueError, KeyError, TypeError, UsageError):
                yield None, None
                continue
            yield moment, message if isinstance(message, str) else None


@dataclass(frozen=True)
class LogSource:
    """Which log to search and how to sign: what `terraform output usage_log` gives."""

    search_scope: str
    region: str
    profile: str | None = None


def terraform_log_source(terraform_dir: Path) -> LogSource:
    """The deployed stack's invoke log, from its Terraform outputs."""
    try:
        done = subprocess.run(
            ["terraform", f"-chdir={terraform_dir}", "output", "-json", "usage_log"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("terraform is not installed: pass --scope and --region instead") from None
    if done.returncode != 0:
        raise UsageError(
            f"terraform output usage_log failed ({done.stderr.strip()[:300]}): "
            "deploy first, or pass --scope and --region"
        )
    value = json.loads(done.stdout)
    return LogSource(value["search_scope"], value["region"], value.get("profile"))


def oci_entries(
    source: LogSource,
    window: Window,
    *,
    config_file: str | None = None,
    service_endpoint: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[Entry]:
    """Every entry of the invoke log in `window`, oldest first, page by page (`opc-next-page`)."""
    import oci  # here: the local report needs no SDK

    try:
        config = oci.config.from_file(
            file_location=config_file or oci.config.DEFAULT_LOCATION,
            profile_name=source.profile or oci.config.DEFAULT_PROFILE,
        )
        config["region"] = source.region
        client = oci.loggingsearch.LogSearchClient(config, service_endpoint=service_endpoint)
    except (oci.exceptions.ConfigFileNotFound, oci.exceptions.ProfileNotFound, oci.exceptions.InvalidConfig) as exc:
        raise UsageError(f"--config-file/--profile: the OCI config cannot be used: {exc}") from None
    details = oci.loggingsearch.models.SearchLogsDetails(
        time_start=window.start,
        time_end=window.end,
        search_query=f'search "{source.search_scope}" | sort by datetime asc',
        is_return_field_info=False,
    )
    page: str | None = None
    while True:
        try:
            response = client.search_logs(details, limit=page_size, page=page)
        except oci.exceptions.ServiceError as exc:
            # 404 NotAuthorizedOrNotFound: no such log, or your user may not read it (`read log-content`).
            raise UsageError(f"Logging search refused: {exc.status} {exc.code}: {exc.message}") from None
        for result in response.data.results or ():
            yield _search_entry(result.data)
        page = response.headers.get("opc-next-page")
        if not page:
            return


def _search_entry(data: Any) -> Entry:
    """(time, data.message) of one SearchResult's `data` (`{"datetime": ..., "logContent": {...}}`)."""
    try:
        content = data["logContent"]
        message = content["data"]["message"]
        moment = parse_time(content["time"], "time") if content.get("time") else None
    except (KeyError, TypeError, UsageError):
        return None, None
    return moment, message if isinstance(message, str) else None


# -- output ---------------------------------------------------------------------

COLUMNS = ("client", "model", "calls", "errors", "input_tokens", "output_tokens", "total_tokens")


def render(report: Report, form: str) -> str:
    rows = report.table()
    if form == "json":
        return json.dumps(
            {
                "from": report.window.start.isoformat(),
                "to": report.window.end.isoformat(),
                "rows": rows,
                "total": {**asdict(report.total()), "total_tokens": report.total().total_tokens},
                "malformed_lines": report.malformed,
            },
            indent=2,
        )
    if form == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    total = report.total()
    cells = [[str(row[c]) if row[c] != "" else "-" for c in COLUMNS] for row in rows]
    cells.append(["TOTAL", "", *(str(v) for v in (total.calls, total.errors, total.input_tokens, total.output_tokens))])
    cells[-1].append(str(total.total_tokens))
    heading = f"Usage {report.window.start.isoformat()} → {report.window.end.isoformat()}"
    return "\n".join([heading, *aligned([list(COLUMNS), *cells])])


def limit_windows(state_file: Path, now: float) -> list[str]:
    """Lines showing each limited client's current windows in `make run`'s store; none without one."""
    if not state_file.exists():
        return []
    import valkey  # a development dependency: only the local report reads the store

    from genai_fn.limits import windows

    state = json.loads(state_file.read_text())
    limits: dict[str, dict[str, Any]] = state["limits"]
    store = valkey.Valkey(host="127.0.0.1", port=state["port"], password=state["password"], socket_timeout=2)
    rows = [["client", "window", "used", "limit", "left", "resets in"]]
    try:
        # Clients without a policy of their own (the defaults, "*") are found by their keys.
        seen = {k.decode().split("{", 1)[1].split("}", 1)[0] for k in store.scan_iter(match=windows.PREFIX + "*")}
        for client in sorted({c for c in limits if c != "*"} | (seen if "*" in limits else set())):
            mine = limits.get(client) or limits["*"]
            periods = [("minute", mine["tokens_per_minute"]), (mine["token_quota_period"], mine["token_quota"])]
            for period, limit in periods:
                if limit is None or period is None:
                    continue
                current = windows.window(period, now)
                raw: Any = store.get(current.key(client))
                used = int(raw or 0)
                reset = windows.reset_text(current.seconds_left(now))
                rows.append([client, period, str(used), str(limit), str(max(0, limit - used)), reset])
    except valkey.ValkeyError as exc:
        return [f"Token limits: the local store did not answer ({type(exc).__name__})"]
    finally:
        store.close()  # type: ignore[no-untyped-call]
    return ["", "Token limits (the local store, current windows)", *aligned(rows)]


def build(entries: Iterable[Entry], window: Window) -> Report:
    report = Report(window)
    for moment, message in entries:
        report.add(moment, message)
    return report


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.usage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", help="window back from now: 30m, 24h (default), 7d")
    parser.add_argument("--from", dest="start", help="window start, ISO 8601 (UTC unless a zone is given)")
    parser.add_argument("--to", dest="end", help="window end, ISO 8601 (default: now)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_const", const="json", dest="form", help="JSON for tools")
    form.add_argument("--csv", action="store_const", const="csv", dest="form", help="CSV for spreadsheets")
    parser.add_argument("--local", action="store_true", help="read `make run`'s invocation lines, not OCI Logging")
    parser.add_argument("--file", type=Path, default=LOCAL_FILE, help="the local file (with --local)")
    parser.add_argument("--scope", help="search scope <compartment>/<log group>/<log> (default: terraform output)")
    parser.add_argument("--region", help="the log's region (default: terraform output)")
    parser.add_argument("--profile", help="OCI config profile (default: terraform output, else DEFAULT)")
    parser.add_argument("--config-file", help="OCI config file (default: ~/.oci/config)")
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)  # another Logging endpoint (tests)
    args = parser.parse_args(argv)

    try:
        window = parse_window(args.since, args.start, args.end, now or datetime.now(timezone.utc))
        if args.local:
            if not args.file.exists():
                raise UsageError(f"--file: {args.file} does not exist (make run writes it as calls are answered)")
            report = build(local_entries(args.file), window)
        else:
            if bool(args.scope) != bool(args.region):
                raise UsageError("--scope and --region go together")
            source = (
                LogSource(args.scope, args.region, args.profile)
                if args.scope
                else terraform_log_source(ROOT / "terraform")
            )
            if args.profile:
                source = LogSource(source.search_scope, source.region, args.profile)
            entries = oci_entries(source, window, config_file=args.config_file, service_endpoint=args.endpoint)
            report = build(entries, window)
    except UsageError as exc:
        print(f"make usage: {exc}", file=sys.stderr)
        return 2
    print(render(report, args.form or "table"))
    windows = limit_windows(LIMITS_STATE, (now or datetime.now(timezone.utc)).timestamp()) if args.local else []
    if windows and not args.form:
        print("\n".join(windows))
    if report.malformed:
        print(f"warning: {report.malformed} unreadable invocation line(s) skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
