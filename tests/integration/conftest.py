"""The whole local chain: function processes under the real fdk, the gateway, the emulator.

The chain is tests/conftest.py's `stack` (one container behind the gateway at
/genai); these fixtures name its parts for the tests that use them.
"""

from __future__ import annotations

import openai
import pytest

from dev.local.gateway import Gateway
from dev.local.runner import FnRunner
from dev.local.stack import ApiKeys, Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def api_keys(stack: Stack) -> ApiKeys:
    return stack.api_keys


@pytest.fixture
def runner(stack: Stack) -> FnRunner:
    return stack.runner


@pytest.fixture
def gateway(stack: Stack) -> Gateway:
    assert stack.gateway is not None
    return stack.gateway


@pytest.fixture
def sdk(stack: Stack) -> openai.OpenAI:
    return stack.openai()
