"""A DSPy ReAct agent on this template's endpoint: one tool, then its answer, with each of DSPy's two adapters.

    GENAI_ENDPOINT=http://127.0.0.1:8080/v1 GENAI_API_KEY=<key> python examples/dspy/main.py

DSPy calls models through LiteLLM: `openai/<name>` sends Chat Completions to
`api_base` with the `openai/` prefix taken off. LiteLLM judges what a model can
do (function calling, JSON schemas) by its name, and OCI's names are not in its
table: give the deployment an alias of an OpenAI name
(`GENAI_MODEL_ALIASES=gpt-4o-mini=openai.gpt-oss-120b`) and set
GENAI_MODEL=gpt-4o-mini, and DSPy's JSONAdapter sends a strict JSON schema
instead of `json_object` (docs/clients.md). Either way the loop runs.
"""

from __future__ import annotations

import os
import sys
from typing import Literal

# LiteLLM fetches its model table from GitHub when imported unless told to use the copy it ships.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy

WEATHER = {"Chicago": "sunny, 21 °C", "Paris": "light rain, 14 °C", "Tokyo": "cloudy, 18 °C"}
CALLS: list[str] = []


def get_weather(city: Literal["Chicago", "Paris", "Tokyo"]) -> str:
    """Today's weather in a city."""
    CALLS.append(city)
    return f"{city}: {WEATHER[city]}"


def main() -> int:
    key = os.environ.get("GENAI_API_KEY")
    if not key:
        print("Set GENAI_API_KEY (make run prints the local stack's key).", file=sys.stderr)
        return 2
    base_url = os.environ.get("GENAI_ENDPOINT", "http://127.0.0.1:8080/v1")
    model = os.environ.get("GENAI_MODEL", "openai.gpt-oss-120b")
    # cache=False: DSPy would otherwise answer a repeated question from its disk cache, without a call.
    lm = dspy.LM(f"openai/{model}", api_base=base_url, api_key=key, cache=False)
    agent = dspy.ReAct("question -> answer", tools=[get_weather], max_iters=4)

    question = "What is the weather in Chicago today?"
    print(f"question: {question}")
    for name, adapter in (("chat_adapter", dspy.ChatAdapter()), ("json_adapter", dspy.JSONAdapter())):
        CALLS.clear()
        with dspy.context(lm=lm, adapter=adapter):
            prediction = agent(question=question)
        tools = [v for k, v in prediction.trajectory.items() if k.startswith("tool_name_")]
        print(f"{name}: {prediction.answer}")
        print(f"{name} tools: {', '.join(tools)}")
        print(f"{name} get_weather calls: {len(CALLS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
