"""genai_fn.sdk_import in a fresh interpreter: lazy oci services, collector paused then frozen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
from genai_fn.sdk_import import import_signer, import_openai, LAZY_MODULES
import_signer()
import_signer()  # idempotent
assert "oci_genai_auth" in sys.modules and "openai" not in sys.modules, "signing never imports openai"
import_openai()
assert "openai" in sys.modules
lazy = {name: type(sys.modules[name]).__name__ for name in LAZY_MODULES}
print(sorted(lazy.items()))
print(gc.isenabled(), gc.get_freeze_count() > 50_000)
client = sys.modules["oci.object_storage"].ObjectStorageClient  # first use loads it whole
print(type(sys.modules["oci.object_storage"]).__name__, client.__name__)
"""


def test_lazy_services_load_on_first_use_and_the_collector_is_back_on() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "[('oci.dns', '_LazyModule'), ('oci.object_storage', '_LazyModule')]"
    assert lines[1] == "True True"
    assert lines[2] == "module ObjectStorageClient"
