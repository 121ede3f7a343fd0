"""The container's entry point: fdk's own `fdk` command, with an opt-in eager start.

    python3 -m genai_fn.boot /function/func.py handler

By default this does exactly what fdk's `fdk` script does: bind the socket at
once and import func.py on the first call. With `GENAI_EAGER_START=true`,
func.py is imported and its client built and exercised (see
`Service.warm_up`) *before* the socket is bound. The platform sends no call
until the socket exists, so a container started ahead of traffic (provisioned
concurrency) answers its first call as fast as any later one.

Eager start is opt-in because it moves the import time from the first call to
container start: worth it when containers are started before they are needed,
neutral otherwise.

It also logs an answer the Fn agent no longer waited for (`delivery.watch`): the
one sign of a caller gone that the function's process can see.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping

import fdk
from fdk import customer_code

from . import delivery
from .settings import Settings, SettingsError


def eager_start_requested(environ: Mapping[str, str]) -> bool:
    try:
        return Settings.from_environ(environ).eager_start
    except SettingsError:
        # func.py reports configuration problems on every call; nothing to warm.
        return False


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.exit("usage: python3 -m genai_fn.boot <func.py> [handler]")
    if not os.path.exists(args[0]):
        sys.exit(f"Module: {args[0]} doesn't exist")
    function = customer_code.Function(args[0], entrypoint=args[1] if len(args) > 1 else "handler")
    if eager_start_requested(os.environ):
        # Imports func.py now; func.py warms its client when the setting is on.
        function.handler()
        # fdk imports its call runner on the first call; pay that now too.
        importlib.import_module("fdk.runner")
    delivery.watch()
    fdk.handle(function)


if __name__ == "__main__":
    main()
