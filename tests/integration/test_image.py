"""The whole chain on the dependencies the image ships: hash-checked install, trimmed.

The folder is built as the Dockerfile builds `/python` (`dev/image_site.py`: pip
install --target from requirements.txt, then image/trim.py), and the function
runs on it under `python -S` with PYTHONPATH=<function>:<site>, started by the
Dockerfile's own ENTRYPOINT. Nothing from the test environment is importable
by the function, so a module the trim removed but the function needs fails
here. Every upstream request is checked by the emulator's signature verifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest

from dev import image_site as site
from dev.local.credentials import ResourcePrincipal
from dev.local.emulator import Emulator
from dev.local.stack import Stack
from image import trim

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def trimmed_site() -> Path:
    return site.build(ROOT / "requirements.txt", trimmed=True)


@pytest.fixture
def image_sdk(make_stack: Callable[..., Stack], trimmed_site: Path) -> openai.OpenAI:
    stack = make_stack(image=True, prefix="/genai")
    assert stack.site_dir == trimmed_site
    return stack.openai()


def test_the_trim_removed_what_it_says(trimmed_site: Path) -> None:
    assert sorted(p.name for p in trim.oci_services(trimmed_site)) == sorted(trim.KEEP_OCI_SERVICES)
    for gone in ("aiohttp", "Cython", "pytest", "_pytest", "pygments", "setuptools"):
        assert not (trimmed_site / gone).exists(), gone
    assert site.size_bytes(trimmed_site) < 150 * 2**20


def test_nothing_outside_the_site_is_importable(trimmed_site: Path) -> None:
    probe = "import sys, openai, oci_genai_auth, fdk; print([p for p in sys.path if 'site-packages' in p])"
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": f"{ROOT}:{trimmed_site}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
    missing = subprocess.run(
        [sys.executable, "-S", "-c", "import aiohttp"],
        env={"PYTHONPATH": f"{ROOT}:{trimmed_site}"},
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "No module named 'aiohttp'" in missing.stderr


def test_create_stream_retrieve_delete_signed_on_the_trimmed_install(
    image_sdk: openai.OpenAI, emulator: Emulator
) -> None:
    before = len(emulator.calls)
    created = image_sdk.responses.create(model="openai.gpt-oss-120b", input="trimmed image")
    assert created.output_text == "Echo: trimmed image"
    with image_sdk.responses.stream(model="openai.gpt-oss-120b", input="streamed") as stream:
        assert stream.get_final_response().output_text == "Echo: streamed"
    assert image_sdk.responses.retrieve(created.id).id == created.id
    image_sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        image_sdk.responses.retrieve(created.id)

    upstream = emulator.calls[before:]
    assert [c.status for c in upstream[:4]] == [200, 200, 200, 200]
    # Every request carried a token the emulated IAM issued, and passed the signature check.
    assert all(c.jti for c in upstream), [c.reason for c in upstream]


def test_credentials_rotated_while_running_on_the_trimmed_install(
    image_sdk: openai.OpenAI, emulator: Emulator, principal: ResourcePrincipal
) -> None:
    assert image_sdk.responses.create(model="openai.gpt-oss-120b", input="before").output_text == "Echo: before"
    first_jti = emulator.calls[-1].jti
    # Revoke every token issued so far, then rotate: the 401 makes the signer re-read the files.
    emulator.inject("401-until-rotate")
    principal.rotate()
    assert image_sdk.responses.create(model="openai.gpt-oss-120b", input="after").output_text == "Echo: after"
    assert [c.status for c in emulator.calls[-2:]] == [401, 200]
    assert emulator.calls[-1].jti not in (first_jti, "")


def warm_up_event(line: str) -> bool:
    """Whether `line` is the function's warm-up log line (genai_fn/service.py)."""
    try:
        event = json.loads(line)
    except ValueError:
        return False
    return isinstance(event, dict) and event.get("event") == "warm_up"


def test_eager_start_warms_up_before_the_socket_and_answers(
    make_stack: Callable[..., Stack], trimmed_site: Path, emulator: Emulator
) -> None:
    # FDK_DEBUG only adds fdk's own start-up lines, the witnesses of when the socket was bound.
    stack = make_stack(image=True, gateway=False, config={"GENAI_EAGER_START": "true", "FDK_DEBUG": "true"})
    runner = stack.runner
    assert runner.site_dir == trimmed_site
    warm = json.loads(runner.wait_for_line(warm_up_event))
    assert warm["ok"] is True, runner.lines()
    # One process writes both to one pipe, so the order read is the order written: the warm-up was
    # logged before fdk began to bind its socket (fdk's log of `http_stream.start`).
    bind = runner.wait_for_line(lambda line: "in http_stream.start" in line)
    lines = runner.lines()
    assert lines.index(next(x for x in lines if warm_up_event(x))) < lines.index(bind), lines
    calls_before = len(emulator.calls)
    answer = runner.invoke(
        "POST", "/v1/responses", headers={"content-type": "application/json"}, body=b'{"input": "eager"}'
    )
    assert answer.status == 200, answer.body
    assert json.loads(answer.body)["output"][0]["content"][0]["text"] == "Echo: eager"
    # The warm-up itself sent nothing upstream.
    assert len(emulator.calls) == calls_before + 1


def test_eager_start_with_broken_credentials_still_starts_and_reports_on_call(
    make_stack: Callable[..., Stack], trimmed_site: Path, principal: ResourcePrincipal
) -> None:
    config = {"GENAI_EAGER_START": "true", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": "/nonexistent/key.pem"}
    runner = make_stack(image=True, gateway=False, config=config).runner
    assert runner.site_dir == trimmed_site
    assert json.loads(runner.wait_for_line(warm_up_event))["ok"] is False, runner.lines()
    answer = runner.invoke(
        "POST", "/v1/responses", headers={"content-type": "application/json"}, body=b'{"input": "x"}'
    )
    assert answer.status == 502
    assert httpx.Response(200, content=answer.body).json()["error"]["code"] == "credentials_unavailable"
