"""An OCI Function that serves OCI Generative AI's OpenAI-compatible API (Responses first, and the rest).

`func.py` is the Fn entry point; this package holds its parts, one job each:
settings, auth, upstream (the signed httpx client), routes (the table), dispatch,
handlers, checks, call (what a handler gets), errors, http, logs.
"""
