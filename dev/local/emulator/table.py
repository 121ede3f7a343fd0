"""A row of the emulator's route table: a method and a path pattern, the handler that answers them.

Handlers take the emulator's `State` and the `Request`; each family module
exports its rows as `ROUTES`, and `core` matches requests against them all.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .state import State
from .wire import Request

RouteHandler = Callable[[State, Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    #: The route answers `"stream": true` with server-sent events: "chat" or "responses".
    stream: str = ""
    #: "inference" (/openai/v1 on the inference host) or "control" (/20231130/openai/v1, the control plane).
    plane: str = "inference"


def route(method: str, template: str, handler: RouteHandler, stream: str = "", plane: str = "inference") -> Route:
    """`template` is below the plane's prefix, with `{name}` for one path segment."""
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(pattern), handler, stream, plane)
