"""The memory budget: whatever a client sends (up to the 6 MB body limit) and whatever the
model service answers (up to the 6 MB the platform returns), the function's peak RSS stays
within MEMORY_BUDGET_MIB, well inside func.yaml's `memory: 128`.

Each case runs in a fresh fdk process on the image's trimmed dependencies, started by the
Dockerfile's entry point (as `make run` and the image do), warmed by one small call; peak
RSS is the process's VmHWM after the case. A memory bound, not a timing: deterministic.
Hostile shapes are refused *before* parsing (413 too_many_json_values); answers that the
platform could not deliver are refused as they are read (502 upstream_answer_too_large).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev import image_site as site
from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import FnRunner

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
MEMORY_BUDGET_MIB = 110
BODY_LIMIT = 6 * MiB
JSON = {"content-type": "application/json"}


def fill(prefix: bytes, unit: bytes, suffix: bytes, size: int = BODY_LIMIT - 64) -> bytes:
    """`prefix unit,unit,… suffix`, as close to `size` bytes as whole units allow."""
    return prefix + b",".join([unit] * ((size - len(prefix) - len(suffix)) // (len(unit) + 1))) + suffix


def text_input(text: str, *, ascii_only: bool = False, **fields: object) -> bytes:
    return json.dumps({"input": text, "store": False, **fields}, ensure_ascii=ascii_only).encode()


def near_limit(unit: str, *, escaped: bool = False) -> str:
    width = len(json.dumps(unit)) - 2 if escaped else len(unit.encode())
    return unit * ((BODY_LIMIT - 200) // width)


IMAGE = {
    "role": "user",
    "content": [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": "data:image/png;base64," + "A" * (BODY_LIMIT - 400)},
    ],
}

#: name → (request body, the status it must get). Bodies at the limit, answers near 6 MB.
CASES: dict[str, tuple[bytes, int]] = {
    "wide array of {}": (fill(b'{"input":[', b"{}", b"]}"), 413),
    "wide array of []": (fill(b'{"input":[', b"[]", b"]}"), 413),
    "many small numbers": (fill(b'{"input":"x","metadata":{"n":[', b"7", b"]}}"), 413),
    "many keys": (b'{"input":"x","metadata":{' + b",".join(b'"%08x":0' % i for i in range(480_000)) + b"}}", 413),
    # Each {} counts twice (its opener and its comma): 49,000 of them are just under 100,000 values.
    "just under the value limit": (fill(b'{"input":"x","metadata":{"n":[', b"{}", b"]}}", 49_000 * 3), 200),
    "long ASCII string, echoed (5.9 MB JSON answer)": (text_input("a" * int(5.9 * MiB)), 200),
    "long ASCII string, answer past 6 MB": (text_input(near_limit("a")), 502),
    "non-ASCII text, answer larger than 6 MB": (text_input(near_limit("é")), 502),
    "emoji text": (text_input(near_limit("😀")), 502),
    "non-ASCII escaped by the client, answer past 6 MB": (
        text_input(near_limit("é", escaped=True), ascii_only=True),
        502,
    ),
    "base64 image": (json.dumps({"input": [IMAGE], "store": False}).encode(), 200),
    "streamed answer near the limit": (text_input("a" * int(0.8 * MiB), stream=True), 200),
    "streamed answer past the limit": (text_input("a" * (3 * MiB), stream=True), 502),
    "rewritten body (alias) with emoji": (
        json.dumps(
            {"model": "gpt-4o-mini", "input": near_limit("😀")[:-100], "store": False}, ensure_ascii=False
        ).encode(),
        502,
    ),
}


@pytest.fixture(scope="module")
def trimmed() -> Path:
    return site.build()


@pytest.fixture
def env(function_env: dict[str, str]) -> dict[str, str]:
    return {
        **function_env,
        "GENAI_ALLOWED_MODELS": "openai.gpt-oss-120b,openai.gpt-oss-20b",
        "GENAI_MODEL_ALIASES": "gpt-4o-mini=openai.gpt-oss-20b",
    }


@pytest.fixture
def container(env: dict[str, str], trimmed: Path) -> Iterator[FnRunner]:
    with FnRunner(env=env, site_dir=trimmed, entrypoint=site.entrypoint()) as runner:
        warm = runner.invoke("POST", "/v1/responses", headers=JSON, body=text_input("warm"))
        assert warm.status == 200
        yield runner


@pytest.mark.parametrize("name", list(CASES))
def test_peak_rss_stays_within_the_budget(name: str, container: FnRunner, emulator: Emulator) -> None:
    body, expected = CASES[name]
    assert len(body) <= BODY_LIMIT, "every case is a body the function accepts by size"
    answer = container.invoke("POST", "/v1/responses", headers=JSON, body=body)
    assert container.pid is not None
    peak_mib = ProcessProbe.of(container.pid).hwm_kb / 1024
    print(
        f"\n{name}: {len(body) / MiB:.2f} MiB in, {answer.status}, {len(answer.body) / MiB:.2f} MiB out, "
        f"peak RSS {peak_mib:.1f} MiB"
    )
    assert answer.status == expected, answer.body[:300]
    if expected != 200:
        code = json.loads(answer.body)["error"]["code"]
        assert code == {413: "too_many_json_values", 502: "upstream_answer_too_large"}[expected]
    assert peak_mib <= MEMORY_BUDGET_MIB
