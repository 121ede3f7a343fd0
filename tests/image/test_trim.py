"""image/trim.py on small synthetic `pip install --target` trees: what it removes, and when it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from image import trim


def make_site(root: Path) -> Path:
    site = root / "site"
    (site / "oci").mkdir(parents=True)
    (site / "oci" / "__init__.py").write_text("")
    (site / "oci" / "auth").mkdir()
    (site / "oci" / "auth" / "__init__.py").write_text("")
    for service in [*trim.KEEP_OCI_SERVICES, "database", "core"]:
        models = site / "oci" / service / "models"
        models.mkdir(parents=True)
        (models / "__init__.py").write_text("")
        (site / "oci" / service / "client.py").write_text("x" * 1000)
    for name in trim.UNUSED_DISTRIBUTIONS:
        add_dist(site, name)
    add_dist(site, "httpx")
    return site


def add_dist(site: Path, name: str, extra_record: str = "") -> None:
    package = site / name.lower()
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"pyc")
    (site / "bin").mkdir(exist_ok=True)
    (site / "bin" / name.lower()).write_text("#!python")
    info = site / f"{name.lower()}-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        f"{name.lower()}/__init__.py,sha256=x,0\n"
        f"{name.lower()}/__pycache__/__init__.cpython-311.pyc,,\n"
        f"../../bin/{name.lower()},sha256=x,8\n"
        f"{info.name}/RECORD,,\n{extra_record}"
    )


def test_removes_unused_services_and_distributions_and_keeps_the_rest(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    freed = trim.trim(site)

    assert sorted(p.name for p in trim.oci_services(site)) == sorted(trim.KEEP_OCI_SERVICES)
    assert (site / "oci" / "auth" / "__init__.py").exists()
    assert freed["oci.database"] >= 1000 and freed["oci.core"] >= 1000
    for name in trim.UNUSED_DISTRIBUTIONS:
        assert not (site / name.lower()).exists(), name
        assert not (site / "bin" / name.lower()).exists(), name
        assert not list(site.glob(f"{name.lower()}-*.dist-info")), name
    assert (site / "httpx" / "__init__.py").exists()
    assert (site / "bin" / "httpx").exists()


def test_a_missing_distribution_fails_instead_of_shipping_untrimmed(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    for info in site.glob("cython-*.dist-info"):
        (info / "RECORD").unlink()
        info.rmdir()
    with pytest.raises(trim.TrimError, match="Cython is not installed"):
        trim.trim(site)


def test_a_kept_service_that_is_missing_fails(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "oci" / "dns" / "models" / "__init__.py").unlink()
    with pytest.raises(trim.TrimError, match="dns"):
        trim.trim(site)


def test_a_record_pointing_outside_the_tree_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    info = next(site.glob("wheel-*.dist-info"))
    with (info / "RECORD").open("a") as record:
        record.write("../precious.txt,,\n")
    with pytest.raises(trim.TrimError, match="outside"):
        trim.trim(site)
    assert outside.read_text() == "keep me"


def test_not_an_oci_install_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert trim.main([str(tmp_path / "empty")]) == 1
