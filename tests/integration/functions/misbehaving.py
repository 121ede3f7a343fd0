"""A function that breaks the rules on purpose, to test the local runner's platform behaviour."""

import json
import sys
import threading
import time

from fdk import response


def handler(ctx, data=None):
    path = ctx.RequestURL() or "/"
    if path.endswith("/sleep"):
        time.sleep(60)  # ignores Fn-Deadline, as the platform must not allow
    if path.endswith("/raise"):
        raise RuntimeError("boom")
    if path.endswith("/500"):
        return response.Response(ctx, response_data='{"status": 500}', status_code=500)
    if path.endswith("/late"):
        # The call's log line comes after its answer: what a reader thread that runs late looks like.
        line = json.dumps({"event": "invocation", "call_id": ctx.CallID(), "status": 201})
        threading.Timer(0.5, lambda: print(line, file=sys.stderr, flush=True)).start()
    return response.Response(ctx, response_data="ok", headers={"X-Echo": path}, status_code=201)
