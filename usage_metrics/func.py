"""OCI Function: token usage per client and model, from the invoke log to OCI Monitoring metrics.

The target of a Connector Hub connector whose source is the Functions
application's invoke log: each call brings a batch of log entries, among them
the main function's one JSON line per call (genai_fn/logs.py). The calls in it
are counted per minute, client and model and posted to Monitoring as Calls,
ErrorCalls, InputTokens, OutputTokens and TotalTokens (metering/app.py). The
main function does none of this work, so its calls wait for nothing.

Configuration (docs/usage-and-alarms.md): USAGE_METRICS_COMPARTMENT_OCID,
USAGE_METRICS_NAMESPACE, USAGE_METRICS_ENDPOINT (metering/config.py), read from
the environment once, when fdk imports this file (OCI Functions gives a
container its configuration as its environment).

In the image this file is /function/func.py beside the package at
/function/usage_metrics/ (Dockerfile), as the main function's func.py is beside
genai_fn/: fdk loads it by path, and it imports the package by its name.
"""

import json
import os

from fdk import response

from usage_metrics.metering.app import App

# The configuration is read and checked once per container; a bad one is answered with its name on every call.
app = App.from_environ(os.environ)


def handler(ctx, data=None):
    body = data.read() if data is not None else b""
    status, summary = app.handle(body, ctx.Deadline())
    return response.Response(
        ctx, response_data=json.dumps(summary), headers={"Content-Type": "application/json"}, status_code=status
    )
