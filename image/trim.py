"""Remove what the function never loads from a `pip install --target` tree.

Run by the Dockerfile's build stage right after `pip install --target /python`,
and by the test suite and the benchmark on the same kind of tree, so that what
is measured and tested is what ships:

    python3 image/trim.py /python

What goes (sizes measured in dev/bench/results.md):

- the `oci` service packages the function does not import (about 190 of the
  200 under `oci/`, ~480 MB): the SDK loads services lazily, on attribute
  access, and this function only signs requests. `import oci` itself imports
  a few (`KEEP_OCI_SERVICES`), which stay;
- distributions fdk declares but only needs to build or test itself
  (Cython, pytest and its plugins, wheel, pbr, setuptools, pygments);
- aiohttp and the packages only it needs: oci declares it for its optional
  async client, which the function never uses, and while it is installed the
  openai SDK imports it on start (about 0.1 s of every cold start).

Whole distributions are removed the way `pip uninstall` does, file by file
from their `RECORD`, because pip cannot uninstall from a `--target` folder.
Each removal is checked: a missing tree or dist is an error, never a silent
skip, so a changed dependency set fails the image build instead of shipping
an untrimmed or broken one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

#: Imported by `import oci` (pagination → object_storage, dns; waiter →
#: work_requests) or by the instance-principal signer (identity).
KEEP_OCI_SERVICES = frozenset({"dns", "identity", "object_storage", "work_requests"})

#: Distributions (as named in their dist-info) the function never imports.
UNUSED_DISTRIBUTIONS = (
    # fdk's build and test requirements
    "Cython",
    "pytest",
    "pytest_asyncio",
    "pluggy",
    "iniconfig",
    "Pygments",
    "wheel",
    "pbr",
    "setuptools",
    # oci's optional async client
    "aiohttp",
    "aiohappyeyeballs",
    "aiosignal",
    "frozenlist",
    "multidict",
    "yarl",
    "propcache",
    # PKCS#11 (hardware-key) signing: the function signs with its resource principal's key.
    # oci imports it optionally and carries on without it (oci/auth/signers/__init__.py, oci 2.189).
    "python_pkcs11",
)


class TrimError(Exception):
    """The tree does not look like the one this script was written for."""


def oci_services(site: Path) -> list[Path]:
    """Service packages under `oci/`: folders with a `models` package."""
    oci = site / "oci"
    if not (oci / "__init__.py").is_file():
        raise TrimError(f"{oci} is not an installed oci package")
    return sorted(p for p in oci.iterdir() if (p / "models" / "__init__.py").is_file())


def dist_info(site: Path, name: str) -> Path:
    """The dist-info folder of distribution `name` (case and -/_ insensitive)."""
    wanted = name.lower().replace("-", "_")
    for candidate in site.glob("*.dist-info"):
        project = candidate.name.split("-", 1)[0].lower()  # dist-info names are normalised: name-version
        if project == wanted:
            return candidate
    raise TrimError(f"distribution {name} is not installed in {site}")


def remove_distribution(site: Path, name: str) -> int:
    """Delete every file `RECORD` lists for `name`; return the bytes freed."""
    info = dist_info(site, name)
    freed = 0
    parents: set[Path] = set()
    for line in (info / "RECORD").read_text().splitlines():
        relative = line.rsplit(",", 2)[0]
        if not relative:
            continue
        if relative.startswith("../../bin/"):
            # Scripts: pip --target installs into a scratch prefix's site-packages, then moves bin/ beside it.
            relative = relative[len("../../") :]
        path = (site / relative).resolve()
        if site.resolve() not in path.parents:
            raise TrimError(f"{name}'s RECORD points outside {site}: {relative}")
        if path.is_file() or path.is_symlink():
            freed += path.lstat().st_size
            path.unlink()
            parents.add(path.parent)
    # Byte-code pip compiled is not in RECORD when installed with --target on some pips.
    for folder in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        cache = folder / "__pycache__"
        if cache.is_dir() and not any((folder / f"{pyc.name.split('.', 1)[0]}.py").exists() for pyc in cache.iterdir()):
            freed += tree_size(cache)
            shutil.rmtree(cache)
        while folder != site and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    if info.exists():
        shutil.rmtree(info)
    return freed


def tree_size(path: Path) -> int:
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() or f.is_symlink())


def trim(site: Path) -> dict[str, int]:
    """Trim `site` in place; return bytes freed per item removed."""
    freed: dict[str, int] = {}
    for service in oci_services(site):
        if service.name not in KEEP_OCI_SERVICES:
            freed[f"oci.{service.name}"] = tree_size(service)
            shutil.rmtree(service)
    missing = KEEP_OCI_SERVICES - {p.name for p in oci_services(site)}
    if missing:
        raise TrimError(f"oci services expected but not installed: {sorted(missing)}")
    for name in UNUSED_DISTRIBUTIONS:
        freed[name] = remove_distribution(site, name)
    return freed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the folder given to pip install --target")
    args = parser.parse_args(argv)
    before = tree_size(args.site)
    try:
        freed = trim(args.site)
    except TrimError as exc:
        print(f"trim: {exc}", file=sys.stderr)
        return 1
    oci_mb = sum(v for k, v in freed.items() if k.startswith("oci.")) / 2**20
    print(
        f"trim: {before / 2**20:.0f} MB → {tree_size(args.site) / 2**20:.0f} MB "
        f"(oci services {oci_mb:.0f} MB, "
        + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in freed.items() if not k.startswith("oci."))
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
