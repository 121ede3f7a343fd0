"""`make run ARGS=--failover`: regional failover shown on two emulators (docs/failover.md).

The home region's emulator answers 429 to every call; a second emulator, with
its own project, plays the fallback region. Calls that store nothing are
served there (`X-GenAI-Region`), a stored create gets the home region's 429,
and each emulator's record shows what it received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from contextlib import ExitStack

from .credentials import REGION, Issuer
from .emulator import Emulator
from .stack import Stack

FALLBACK_REGION = "us-ashburn-1"
FALLBACK_PROJECT = "ocid1.generativeaiproject.oc1.us-ashburn-1.amaaaaaalocalfallback"


def config(fallback: Emulator) -> dict[str, str]:
    """The function's failover settings pointing at `fallback` (its base URL given: it is not at OCI's)."""
    entry = {"region": FALLBACK_REGION, "project": FALLBACK_PROJECT, "base_url": fallback.base_url}
    return {"GENAI_FALLBACK_REGIONS": json.dumps([entry])}


#: (what, path, body): two calls that store nothing, and one stored create.
SAMPLES: tuple[tuple[str, str, Mapping[str, object]], ...] = (
    ("chat completion", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}),
    ("response, store: false", "/v1/responses", {"input": "Hi", "store": False}),
    ("response, stored", "/v1/responses", {"input": "Hi"}),
)


def run(*, port: int, prefix: str, image: bool, once: bool) -> int:
    with ExitStack() as started:
        issuer = Issuer()
        home = started.enter_context(Emulator(issuer))
        fallback = started.enter_context(Emulator(issuer, project=FALLBACK_PROJECT))
        # Every call to the home region is throttled, for as long as this runs.
        home.inject("429", times=10**9, value=0)
        stack = started.enter_context(
            Stack(issuer=issuer, emulator=home, config=config(fallback), port=port, prefix=prefix, image=image)
        )
        print(f"Gateway   {stack.base_url}")
        print(f"Home      {REGION}: {home.base_url} (answers 429 to everything)")
        print(f"Fallback  {FALLBACK_REGION}: {fallback.base_url}\n")
        client = stack.client(timeout=60)
        for what, path, body in SAMPLES:
            at_home, there = len(home.calls), len(fallback.calls)
            answer = client.post(path, json=body)
            print(f"{what:24} → {answer.status_code}  X-GenAI-Region: {answer.headers.get('x-genai-region', '-')}")
            print(f"{'':24}   home received {len(home.calls) - at_home}, fallback {len(fallback.calls) - there}")
        if once:
            return 0
        print(f"\nTry it (Ctrl-C to stop): curl -si {stack.base_url}/v1/chat/completions \\")
        print(f"  -H 'Authorization: Bearer {stack.api_keys.key}' -H 'Content-Type: application/json' \\")
        print("""  -d '{"messages": [{"role": "user", "content": "Hi"}]}'""")
        for runner in stack.runners:
            runner.echo_logs = True
        threading.Event().wait()  # until SIGINT or SIGTERM stops it (dev/local/__main__.py: `Stopped`)
    return 0
