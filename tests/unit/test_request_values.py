"""genai_fn.http: the value count of a request body is linear in its size, whatever its strings hold."""

import pytest

from genai_fn import errors, http
from genai_fn.http import Request


def request(body: bytes) -> Request:
    return Request("c", "POST", "/v1/responses", {}, {"content-type": "application/json"}, body, None)


def test_an_unterminated_string_of_escaped_quotes_and_commas_is_counted_once():
    # 6 MB: the rough count passes the limit, so strings are matched; a pattern that can fail
    # would be retried from each of the 2 million quotes (5 s at 24 kB, quadratic).
    body = b'{"input":"' + b'\\",' * 2_000_000
    assert http._values_upper_bound(body, http.MAX_JSON_VALUES) < http.MAX_JSON_VALUES
    with pytest.raises(errors.ApiError) as refused:
        request(body).json_body()
    assert (refused.value.status, refused.value.code) == (400, "invalid_json")


def test_strings_still_hide_their_separators_from_the_count():
    body = b'{"input":"' + b"," * 200_000 + b'"}'
    assert http._values_upper_bound(body, http.MAX_JSON_VALUES) == 2
