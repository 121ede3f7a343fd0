"""genai_fn.answer_fields: what is read from an answer, with bounds, and what stops the reading."""

import json

import pytest

from genai_fn import answer_fields
from genai_fn.answer_fields import Malformed, check_whole, error_fields, read


def response(**fields: object) -> bytes:
    body = {
        "id": "resp_1",
        "object": "response",
        "model": "openai.gpt-oss-120b",
        "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "Hello, "}]},
            {"type": "message", "content": [{"annotations": [], "text": "wörld 😀", "type": "output_text"}]},
        ],
        "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
    }
    return json.dumps({**body, **fields}).encode()


def test_a_responses_object_gives_id_model_usage_and_joined_text():
    fields = read(bytearray(response()), text_limit=100)
    assert (fields.id, fields.model) == ("resp_1", "openai.gpt-oss-120b")
    assert (fields.input_tokens, fields.output_tokens, fields.total_tokens) == (5, 3, 8)
    assert fields.output_text == "Hello, wörld 😀" and fields.complete and not fields.text_cut


def test_a_chat_completion_gives_its_first_choice_and_prompt_tokens():
    body = json.dumps(
        {
            "id": "chatcmpl-1",
            "choices": [{"message": {"role": "assistant", "content": "hi \\u00e9"}}, {"message": {"content": "no"}}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 2},
        }
    ).encode()
    fields = read(body, text_limit=100)
    assert (fields.id, fields.output_text, fields.input_tokens, fields.output_tokens) == (
        "chatcmpl-1",
        "hi \\u00e9",
        4,
        2,
    )


def test_text_past_the_limit_is_cut_and_said_to_be():
    fields = read(response(), text_limit=9)
    assert fields.output_text == "Hello, wö" and fields.text_cut


def test_a_long_escaped_text_is_cut_without_decoding_it_whole():
    text = "\\u00e9" * 200_000  # JSON escapes: 6 bytes per character
    body = (
        b'{"id":"r","output":[{"type":"message","content":[{"type":"output_text","text":"' + text.encode() + b'"}]}]}'
    )
    fields = read(body, text_limit=1000)
    assert fields.output_text == "é" * 1000 and fields.text_cut


@pytest.mark.parametrize(
    "body",
    [b'{"id": "resp_trunc', b"", b"[1, 2]", b'"a string"', b'{"id": "r"} trailing', b'{"id": "r", "output": [}'],
)
def test_an_answer_cut_short_or_not_an_object_is_malformed(body):
    with pytest.raises(Malformed):
        read(body, text_limit=10)


def test_hostile_shapes_stop_the_reading_not_the_function():
    wide = b'{"id":"resp_w","output":[' + b",".join([b"{}"] * 1_000_000) + b"]}"
    fields = read(wide, text_limit=10)
    assert fields.id == "resp_w" and not fields.complete and fields.output_text is None
    deep = b'{"id":"resp_d","output":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    fields = read(deep, text_limit=10)
    assert fields.id == "resp_d" and not fields.complete


def test_values_are_bounded_before_they_are_decoded():
    fields = read(response(id="r" * 100_000, usage={"input_tokens": 10**30, "output_tokens": "7"}), text_limit=5)
    assert fields.id is None and fields.input_tokens is None and fields.output_tokens is None


def test_the_scan_is_limited_in_tokens_across_every_read():
    # Each member of the object read costs tokens (its key, colon, comma): a budget's worth stops the reading.
    members = b",".join(b'"k%d":1' % i for i in range(answer_fields.MAX_TOKENS // 3 + 1))
    body = b'{"id":"r",' + members + b',"usage":{"output_tokens":1}}'
    fields = read(body, text_limit=10)
    assert fields.id == "r" and not fields.complete and fields.output_tokens is None


def echoed(tools: int) -> dict[str, object]:
    """What a Responses object echoes of a hostile request: `tools` and `metadata` with tens of thousands of items."""
    return {
        "tools": [
            {"type": "function", "name": f"f{i}", "description": 'a [list] of {"things"}', "parameters": {"a": [[{}]]}}
            for i in range(tools)
        ],
        "metadata": {f"k{i}": "]}" for i in range(tools)},
        "instructions": "[" * 1000,
    }


def test_usage_after_huge_echoed_fields_is_read():
    # usage comes after what the service echoes (as OpenAI orders a Responses object): the echo is jumped, not read.
    body = json.dumps({"id": "resp_big", **echoed(60_000), "usage": {"input_tokens": 7, "output_tokens": 16}}).encode()
    assert len(body) > 5_000_000
    fields = read(body, text_limit=10)
    assert (fields.id, fields.input_tokens, fields.output_tokens) == ("resp_big", 7, 16) and fields.complete


def test_a_child_deeper_than_the_jump_is_walked_within_the_budget():
    deep = b"[" * (answer_fields.JUMP_DEPTH + 5) + b"]" * (answer_fields.JUMP_DEPTH + 5)
    fields = read(b'{"id":"r","tools":' + deep + b',"usage":{"input_tokens":3}}', text_limit=10)
    assert fields.input_tokens == 3 and fields.complete
    with pytest.raises(Malformed):
        read(b'{"id":"r","tools":[{"a":"b"}, [' + b',"usage":{"input_tokens":3}}', text_limit=10)


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            b'{"error": {"message": "bad model", "code": "model_not_found", "type": "x"}}',
            ("bad model", "model_not_found"),
        ),
        (b'{"code": "TooManyRequests", "message": "slow down"}', ("slow down", "TooManyRequests")),
        (b'{"error": "flat"}', ("flat", "")),
        (b'{"error": {"message": "' + b"m" * 2000 + b'"}}', ("m" * 500, "")),
        (b"[" * 60_000 + b"]" * 60_000, ("", "")),
        (b"not json", ("", "")),
        (b'{"message": 7, "code": {"a": 1}}', ("", "")),
    ],
)
def test_error_fields_are_read_with_bounds(body, expected):
    assert error_fields(body) == expected


def test_check_whole_refuses_a_cut_answer_and_lets_an_unreadable_one_pass():
    with pytest.raises(Malformed):
        check_whole(b'{"id": "resp_trunc')
    with pytest.raises(Malformed):
        check_whole(b'{"a":1}\n{"a":2}\n')
    check_whole(b"[" + b",".join([b"{}"] * 2_000_000) + b"]")
    check_whole(b"[" * 10_000 + b"]" * 10_000)


def test_an_unterminated_string_of_escaped_quotes_is_scanned_once_not_from_every_quote():
    # With a string pattern that can fail, each of the 2 million quotes would start a scan to the end.
    body = b'{"id":"r","output":"' + b'\\",' * 2_000_000
    with pytest.raises(Malformed):
        read(body, text_limit=10)
    assert error_fields(body) == ("", "")
