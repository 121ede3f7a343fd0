"""The naive baseline: oci-genai-auth's documented example dropped into an fdk handler.

This is what the benchmark compares the project's function against. It is
the obvious way to write it, and correct: every call builds the signer, the
httpx client and the OpenAI client, then calls the Responses API and returns
the SDK's parsed response. Do not deploy it; see func.py at the top level.
"""

import io
import json
import os
from typing import Any

import httpx
from fdk import response
from oci_genai_auth import OciResourcePrincipalAuth
from openai import OpenAI


def build_client() -> OpenAI:
    return OpenAI(
        base_url=os.environ["GENAI_BASE_URL"],
        api_key="not-used",
        project=os.environ["GENAI_PROJECT_OCID"],
        # openai accepts an httpx (not only httpx2) client at run time; its stubs say otherwise.
        http_client=httpx.Client(auth=OciResourcePrincipalAuth()),  # type: ignore[arg-type]
    )


def handler(ctx: Any, data: io.BytesIO | None = None) -> response.Response:
    assert data is not None  # fdk always passes the body
    body = json.loads(data.getvalue())
    client = build_client()
    answer = client.responses.create(model=body["model"], input=body["input"])
    return response.Response(ctx, response_data=answer.model_dump_json(), headers={"Content-Type": "application/json"})
