"""An OCI Function that serves OCI Generative AI's OpenAI-compatible Responses API.

`func.py` is the Fn entry point; this package holds its parts, one job each:
settings, auth, upstream (the OpenAI client), routes, errors, http, logs.
"""
