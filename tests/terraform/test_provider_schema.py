"""Every oci_* block of terraform/ against the provider's schema (v8.28.0 subset), offline."""

from __future__ import annotations

import pathlib
import shutil

from tests.terraform.schema_check import check_folder

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"


def test_terraform_matches_the_provider_schema():
    report = check_folder(TF)
    assert not report.errors, "\n".join(report.errors)
    # Every resource and data source of the stack was read (not a parser that saw nothing).
    assert report.checked >= 30


def _copy_with(tmp_path: pathlib.Path, old: str, new: str) -> pathlib.Path:
    folder = tmp_path / "tf"
    shutil.copytree(TF, folder)
    path = folder / "apigateway.tf"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return folder


def test_a_misspelt_argument_fails(tmp_path):
    folder = _copy_with(tmp_path, "endpoint_type  = ", "endpoint_typ   = ")
    report = check_folder(folder)
    assert any("'endpoint_typ' is not an argument" in e for e in report.errors), report.errors
    assert any("required 'endpoint_type' is missing" in e for e in report.errors)


def test_a_misspelt_attribute_inside_a_dynamic_block_fails(tmp_path):
    folder = _copy_with(tmp_path, 'type = "BLOCK"', 'kind = "BLOCK"')
    report = check_folder(folder)
    assert any("filter_headers" in e and "'kind'" in e for e in report.errors), report.errors


def test_a_read_only_attribute_fails(tmp_path):
    folder = _copy_with(tmp_path, 'endpoint_type  = "PUBLIC"', 'endpoint_type  = "PUBLIC"\n  hostname = "x"')
    assert any("'hostname' is read-only" in e for e in check_folder(folder).errors)


def test_a_folder_without_oci_blocks_fails(tmp_path):
    (tmp_path / "main.tf").write_text('resource "null_resource" "x" {}\n')
    report = check_folder(tmp_path)
    assert not report.ok and report.checked == 0
    assert any("no oci_* block was read" in e for e in report.errors)


def test_an_empty_folder_fails(tmp_path):
    assert not check_folder(tmp_path).ok
