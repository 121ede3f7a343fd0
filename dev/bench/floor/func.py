"""The platform's floor: the least an fdk function can do for a call, for `make bench`'s "floor" column.

It imports nothing but fdk and answers every call with the same small JSON
body, without reading the request or calling anything. Its cold start is
the interpreter, fdk and fdk's first call; its per-call time is fdk's own
handling of a call over the unix socket. Whatever the project's function
takes beyond this column is the function's own doing. Do not deploy it.
"""

from typing import Any

from fdk import response

ANSWER = '{"object": "floor"}'


def handler(ctx: Any, data: Any = None) -> response.Response:
    return response.Response(ctx, response_data=ANSWER, headers={"Content-Type": "application/json"})
