"""Import the two SDKs the function needs, as cheaply as a cold start allows.

`import openai` and `import oci_genai_auth` are most of a cold start (about
0.65 s of 0.9 s on a 2-core machine, see README "Performance"). Two things
make them cheaper without changing what they do:

- The cyclic garbage collector is paused while they load. Importing creates
  hundreds of thousands of long-lived objects (classes, pydantic models) and
  the collector would otherwise walk them again and again (~60 ms). Afterwards
  `gc.freeze()` moves them out of its way for the life of the container, so
  later collections, in the middle of calls, skip them too.
- Two oci service packages that `import oci` loads for its pagination helpers
  (`oci.object_storage`, `oci.dns`, ~40 ms) are loaded lazily by the standard
  library's `importlib.util.LazyLoader`: the module object exists at once and
  runs on first attribute access, which this function never makes. Any code
  that does use them gets them whole.
"""

from __future__ import annotations

import gc
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

#: Loaded by `oci.pagination` at import, used only by its helpers' bodies.
LAZY_MODULES = frozenset({"oci.object_storage", "oci.dns"})

_lock = threading.Lock()
_done = False


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds `LAZY_MODULES` as the rest of `sys.meta_path` would, with a lazy loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAZY_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def import_sdks() -> None:
    """Import openai and oci_genai_auth (once per process; later calls return at once)."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        finder = _LazyFinder()
        sys.meta_path.insert(0, finder)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            import oci_genai_auth  # noqa: F401
            import openai  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
            gc.freeze()
            if was_enabled:
                gc.enable()
        _done = True
