"""genai_fn.streams: a buffered event stream is whole only with its final event."""

import json

import pytest

from genai_fn import streams
from genai_fn.streams import Ending, Kind, ending


def sse(*events: dict) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def final_of(body: bytes, result: Ending) -> object:
    assert result.final is not None
    return json.loads(body[slice(*result.final)])


CREATED = {"type": "response.created", "response": {"id": "r1"}}
DELTA = {"type": "response.output_text.delta", "delta": "hi"}


@pytest.mark.parametrize("final", ["response.completed", "response.incomplete", "response.failed"])
def test_a_responses_stream_with_its_final_event_is_whole(final):
    body = sse(CREATED, DELTA, {"type": final, "response": {"id": "r1", "usage": {"output_tokens": 1}}})
    result = ending(Kind.RESPONSES, bytearray(body))
    assert result.whole and final_of(body, result) == {"id": "r1", "usage": {"output_tokens": 1}}


@pytest.mark.parametrize(
    "body, problem, said",
    [
        (sse(CREATED, DELTA), "ended before its final event", ""),
        (sse(CREATED, {"type": "error", "error": {"message": "model overloaded"}}), "error event", "model overloaded"),
        (sse(CREATED, {"type": "error", "message": "flat error"}), "error event", "flat error"),
        (b"", "empty", ""),
        (sse(CREATED)[:-20], "ended before its final event", ""),
    ],
)
def test_a_responses_stream_without_it_is_not(body, problem, said):
    result = ending(Kind.RESPONSES, body)
    assert not result.whole and problem in result.problem and result.upstream_message == said


def chat(*chunks: dict, done: bool = True) -> bytes:
    body = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def test_a_chat_stream_is_whole_with_done_and_its_last_chunk_is_kept():
    usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    body = chat({"id": "c1", "choices": [{"delta": {"content": "x"}}]}, usage)
    result = ending(Kind.CHAT, body)
    assert result.whole and final_of(body, result) == usage


def test_a_chat_stream_without_done_or_with_an_error_is_not():
    assert "[DONE]" in ending(Kind.CHAT, chat({"id": "c1"}, done=False)).problem
    result = ending(Kind.CHAT, chat({"error": {"message": "boom"}}, done=False))
    assert not result.whole and result.upstream_message == "boom"


def test_a_data_word_inside_a_line_is_not_taken_for_an_event():
    body = sse(CREATED, {"type": "response.output_text.delta", "delta": "x data: y"})
    assert not ending(Kind.RESPONSES, body).whole


def _chat(*chunks: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def test_the_usage_chunk_is_asked_for_and_taken_out_only_when_the_client_did_not_ask():
    payload: dict = {"stream": True}
    assert streams.ask_chat_usage(payload) and payload["stream_options"] == {"include_usage": True}
    asked: dict = {"stream_options": {"include_usage": True}}
    assert not streams.ask_chat_usage(asked)
    odd: dict = {"stream_options": "yes"}
    assert not streams.ask_chat_usage(odd) and odd["stream_options"] == "yes", "left for the service to refuse"
    answer = _chat(
        {"choices": [{"delta": {"content": "hi"}}], "usage": None},
        {"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
    )
    for content in (answer, bytearray(answer)):
        end = streams.ending(streams.Kind.CHAT, content)
        kept = streams.without_usage_chunk(content, end)
        assert bytes(kept) == answer[: answer.index(b'data: {"choices": []')] + b"data: [DONE]\n\n"
    # A last chunk with a choice is the answer's own: nothing is taken out.
    plain = _chat({"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1}})
    assert streams.without_usage_chunk(plain, streams.ending(streams.Kind.CHAT, plain)) == plain
