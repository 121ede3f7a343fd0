"""A smolagents ToolCallingAgent on this template's endpoint: one tool, then its final answer.

    GENAI_ENDPOINT=http://127.0.0.1:8080/v1 GENAI_API_KEY=<key> python examples/smolagents/main.py

`OpenAIServerModel` speaks Chat Completions with native tool calls. smolagents
sends a tool's result back as a user message ("Observation: …"), not as a
`tool` message, and ends the loop when the model calls its `final_answer` tool.
The model name is OCI's (GENAI_MODEL).
"""

from __future__ import annotations

import os
import sys
from typing import Literal

from smolagents import LogLevel, OpenAIServerModel, ToolCallingAgent, tool

WEATHER = {"Chicago": "sunny, 21 °C", "Paris": "light rain, 14 °C", "Tokyo": "cloudy, 18 °C"}
CALLS: list[str] = []


@tool
def get_weather(city: Literal["Chicago", "Paris", "Tokyo"]) -> str:
    """Today's weather in a city.

    Args:
        city: The city to look up.
    """
    CALLS.append(city)
    return f"{city}: {WEATHER[city]}"


def main() -> int:
    key = os.environ.get("GENAI_API_KEY")
    if not key:
        print("Set GENAI_API_KEY (make run prints the local stack's key).", file=sys.stderr)
        return 2
    base_url = os.environ.get("GENAI_ENDPOINT", "http://127.0.0.1:8080/v1")
    model = OpenAIServerModel(
        model_id=os.environ.get("GENAI_MODEL", "openai.gpt-oss-120b"), api_base=base_url, api_key=key
    )
    agent = ToolCallingAgent(tools=[get_weather], model=model, max_steps=4, verbosity_level=LogLevel.OFF)

    question = "What is the weather in Chicago today?"
    result = agent.run(question, return_full_result=True)
    print(f"question: {question}")
    print(f"answer: {result.output}")
    print(f"steps: {len(result.steps)}")
    print(f"get_weather calls: {len(CALLS)}")
    return 0 if result.state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
