"""The real func.py, plus a probe that answers which `openai` modules this process has loaded.

fdk loads this file in place of func.py (tests/integration/test_no_openai_import.py),
so the process is the one OCI Functions would run, with one more path:
  …/__modules          → JSON list of the loaded modules whose top-level package is `openai`
  …/__modules/use-sdk  → the same, after building the SDK client custom logic would use
                         (`service.openai()`): proves the probe can see an import
  …/__modules/valkey   → the loaded modules of the store client token limits use
                         (tests/integration/test_token_limits.py)
Every other call is the real handler's, unchanged.
"""

import importlib.util
import json
import sys
from pathlib import Path

from fdk import response

ROOT = Path(__file__).resolve().parents[3]
# The image holds genai_fn/ beside func.py; here they are in the repository's root.
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("genai_func", ROOT / "func.py")
assert _spec is not None and _spec.loader is not None
real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real)


def handler(ctx, data=None):
    path = (ctx.RequestURL() or "/").partition("?")[0]
    if "/__modules" not in path:
        return real.handler(ctx, data)
    if path.endswith("/use-sdk"):
        real.service.openai()
    top = "valkey" if path.endswith("/valkey") else "openai"
    loaded = sorted(name for name in sys.modules if name.split(".")[0] == top)
    return response.Response(ctx, response_data=json.dumps(loaded), headers={"Content-Type": "application/json"})
