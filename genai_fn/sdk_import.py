"""Import the SDKs the function needs, as cheaply as a cold start allows.

Every call needs `oci_genai_auth` (and `oci` under it) to sign; only custom
logic needs `openai`, whose import alone is ~350 ms (it loads every type it
has), so it is imported on first use, never by the routes that ship. Two
things make each import cheaper without changing what it does:

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
import importlib
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
_done: set[str] = set()


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


def import_signer() -> None:
    """Import oci_genai_auth and the oci SDK under it (once per process): every call needs them."""
    _import_once("oci_genai_auth", lazy=True)


def import_openai() -> None:
    """Import the OpenAI SDK (once per process): only custom logic and eager start need it."""
    _import_once("openai", lazy=False)


def _import_once(name: str, *, lazy: bool) -> None:
    if name in _done:
        return
    with _lock:
        if name in _done:
            return
        finder = _LazyFinder() if lazy else None
        if finder:
            sys.meta_path.insert(0, finder)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            importlib.import_module(name)
        finally:
            if finder:
                sys.meta_path.remove(finder)
            gc.freeze()
            if was_enabled:
                gc.enable()
        _done.add(name)
