"""The local stack's token metrics, summed by client and model: what the emulated Monitoring kept.

    python -m dev.local.metrics [--file .cache/local-stack/metrics.jsonl]

`make run` starts the usage-metrics function (usage_metrics/) beside the main
one, fed by a local connector (dev/local/connector.py); every datapoint the
telemetry emulator accepted is a line of that file. This sums them per
(client, model) and metric, over all time: the local counterpart of
`TotalTokens[1h]{client = "..."}.grouping().sum()` in the Console.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from usage_metrics.report import METRICS as RECORD
from usage_metrics.report import aligned

METRICS = ("Calls", "ErrorCalls", "InputTokens", "OutputTokens", "TotalTokens")


def sums(points: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
    """(client, model) → metric name → the sum of its datapoints."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    for point in points:
        dimensions = point.get("dimensions") or {}
        key = (str(dimensions.get("client", "")), str(dimensions.get("model", "")))
        row = table.setdefault(key, dict.fromkeys(METRICS, 0.0))
        row[point["name"]] = row.get(point["name"], 0.0) + float(point["value"])
    return table


def read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def render(table: dict[tuple[str, str], dict[str, float]]) -> str:
    header = ["client", "model", *METRICS]
    rows = [[client, model, *(f"{row[m]:.0f}" for m in METRICS)] for (client, model), row in sorted(table.items())]
    return "\n".join(aligned([header, *rows]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.local.metrics", description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=RECORD, help="the datapoints file (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.file.exists():
        print(f"{args.file} does not exist: make run writes it once a call's metrics are posted", file=sys.stderr)
        return 2
    print(render(sums(read(args.file))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
