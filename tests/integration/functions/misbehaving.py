"""A function that breaks the rules on purpose, to test the local runner's platform behaviour."""

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
    return response.Response(ctx, response_data="ok", headers={"X-Echo": path}, status_code=201)
