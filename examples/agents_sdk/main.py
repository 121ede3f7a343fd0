"""A tool-calling agent (OpenAI Agents SDK) on this template's endpoint, through the Responses API and Chat Completions.

    GENAI_ENDPOINT=http://127.0.0.1:8080/v1 GENAI_API_KEY=<key> python examples/agents_sdk/main.py

The endpoint is the only network this script uses: the SDK's default client is
replaced by one on GENAI_ENDPOINT, and tracing (which would upload to OpenAI)
is off. The model name is OCI's (GENAI_MODEL), not the SDK's default.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Literal

from agents import (
    Agent,
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_default_openai_client,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

WEATHER = {"Chicago": "sunny, 21 °C", "Paris": "light rain, 14 °C", "Tokyo": "cloudy, 18 °C"}


@function_tool
def get_weather(city: Literal["Chicago", "Paris", "Tokyo"]) -> str:
    """Today's weather in a city.

    Args:
        city: The city to look up.
    """
    return f"{city}: {WEATHER[city]}"


async def ask(model: Model, question: str) -> str:
    agent = Agent(
        name="Weather assistant",
        instructions="Answer weather questions with the get_weather tool; quote what it returns.",
        tools=[get_weather],
        model=model,
    )
    result = await Runner.run(agent, question, max_turns=4)
    return str(result.final_output)


async def main() -> int:
    key = os.environ.get("GENAI_API_KEY")
    if not key:
        print("Set GENAI_API_KEY (make run prints the local stack's key).", file=sys.stderr)
        return 2
    base_url = os.environ.get("GENAI_ENDPOINT", "http://127.0.0.1:8080/v1")
    model = os.environ.get("GENAI_MODEL", "openai.gpt-oss-120b")

    # The function returns each answer whole (docs/clients.md, "Whole answers and client timeouts"): the
    # read timeout covers the whole generation, so it stays above the function's (func.yaml: 120 s), and
    # the function, not the SDK, retries what is safe to repeat.
    client = AsyncOpenAI(base_url=base_url, api_key=key, timeout=130, max_retries=0)
    # The endpoint's client for every agent, never for trace uploads: tracing would send
    # spans to OpenAI's own platform with this key, which is not an OpenAI key.
    set_default_openai_client(client, use_for_tracing=False)
    set_tracing_disabled(True)

    question = "What is the weather in Chicago today?"
    print(f"question: {question}")
    print(f"responses: {await ask(OpenAIResponsesModel(model=model, openai_client=client), question)}")
    print(f"chat_completions: {await ask(OpenAIChatCompletionsModel(model=model, openai_client=client), question)}")
    await client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
