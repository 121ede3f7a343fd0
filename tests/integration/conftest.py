"""The whole local chain: function processes under the real fdk, the gateway, the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from dev.local.gateway import Gateway
from dev.local.runner import FnRunner
from dev.local.stack import ApiKeys

pytestmark = pytest.mark.integration


@pytest.fixture
def api_keys() -> ApiKeys:
    return ApiKeys.generate("tests")


@pytest.fixture
def runner(function_env: dict[str, str]) -> Iterator[FnRunner]:
    with FnRunner(env={**function_env, "GENAI_ALLOWED_MODELS": "*"}, timeout_s=30) as fn:
        yield fn


@pytest.fixture
def gateway(runner: FnRunner, api_keys: ApiKeys) -> Iterator[Gateway]:
    with Gateway([runner], authenticate=api_keys.authenticate, prefix="/genai") as gw:
        yield gw


@pytest.fixture
def sdk(gateway: Gateway, api_keys: ApiKeys) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=api_keys.key, max_retries=0)
