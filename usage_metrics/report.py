"""What `make usage` (ops/usage.py) and the local stack (dev/local/) share: its files and the table layout.

`make run` writes the function's invocation lines, its token-limit store's
address and the metrics the usage-metrics function posted under
.cache/local-stack/; `make usage ARGS=--local` and `python -m dev.local.metrics`
read them back and print tables laid out alike. Neither the function nor the
usage-metrics function imports this module (the image does not hold it: see
the Dockerfile's COPY lines).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_STACK = ROOT / ".cache" / "local-stack"
#: The main function's invocation lines, as `make run` appends them (dev/local/runner.py), in Logging's envelope.
INVOCATIONS = LOCAL_STACK / "invocations.jsonl"
#: Where `make run` says how to read its local OCI Cache (dev/local/cache.py), while it runs with a token limit.
LIMITS_STATE = LOCAL_STACK / "limits.json"
#: Every datapoint the local telemetry emulator accepted from the usage-metrics function.
METRICS = LOCAL_STACK / "metrics.jsonl"


def aligned(rows: list[list[str]]) -> list[str]:
    """A table's rows as lines: the first two columns (client, model) left-aligned, the numbers right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
