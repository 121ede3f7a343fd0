"""LangChain's ChatOpenAI on this template's endpoint, in both of its modes, with a bound tool's round trip.

    GENAI_ENDPOINT=http://127.0.0.1:8080/v1 GENAI_API_KEY=<key> python examples/langchain/main.py

ChatOpenAI speaks Chat Completions by default and the Responses API with
`use_responses_api=True`; the endpoint serves both. The model name is OCI's
(GENAI_MODEL), not ChatOpenAI's default.
"""

from __future__ import annotations

import os
import sys
from typing import Literal

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

WEATHER = {"Chicago": "sunny, 21 °C", "Paris": "light rain, 14 °C", "Tokyo": "cloudy, 18 °C"}


@tool
def get_weather(city: Literal["Chicago", "Paris", "Tokyo"]) -> str:
    """Today's weather in a city."""
    return f"{city}: {WEATHER[city]}"


def tool_round_trip(llm: ChatOpenAI, question: str) -> str:
    """Ask with the tool bound, run the calls the model asks for, and hand their results back."""
    with_tools = llm.bind_tools([get_weather])
    messages: list[BaseMessage] = [HumanMessage(question)]
    answer = with_tools.invoke(messages)
    messages.append(answer)
    if not answer.tool_calls:
        return answer.text
    for call in answer.tool_calls:
        messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
    return with_tools.invoke(messages).text


def main() -> int:
    key = os.environ.get("GENAI_API_KEY")
    if not key:
        print("Set GENAI_API_KEY (make run prints the local stack's key).", file=sys.stderr)
        return 2
    base_url = os.environ.get("GENAI_ENDPOINT", "http://127.0.0.1:8080/v1")
    model = os.environ.get("GENAI_MODEL", "openai.gpt-oss-120b")

    for mode, use_responses_api in (("chat_completions", False), ("responses", True)):
        # timeout above the function's own (func.yaml: 120 s), as the answer comes whole; retries are the function's.
        llm = ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=SecretStr(key),
            use_responses_api=use_responses_api,
            timeout=130,
            max_retries=0,
        )
        print(f"{mode}: {llm.invoke('Say hello to OCI.').text}")
        print(f"{mode} + tool: {tool_round_trip(llm, 'What is the weather in Chicago today?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
