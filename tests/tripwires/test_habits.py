"""Tripwires for the project's habits: the Makefile says what it has, and the documentation's links resolve.

* `make help` lists every target, from the `## ` description on each target's
  line (in the Makefile and in every dev/mk/*.mk and ops/*.mk it includes); `.PHONY` names
  only targets that exist, and every named target is phony.
* Every relative link in the project's Markdown files (README.md, docs/, terraform/,
  ...) points at a file that exists, and every `#anchor` at a heading (or an
  explicit anchor) of the file it names.
* Nothing under dev/ imports tests/ or ops/ (`test_dev_imports_neither_tests_nor_ops`).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

# A rule's line: `name [name...]: prerequisites [## description]`, not a `:=` assignment.
RULE = re.compile(r"^(?P<targets>[A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?!=)(?P<rest>.*)$")


def makefiles() -> list[Path]:
    included = sorted((ROOT / "dev" / "mk").glob("*.mk")) + sorted((ROOT / "ops").glob("*.mk"))
    assert "-include dev/mk/*.mk ops/*.mk" in (ROOT / "Makefile").read_text().splitlines()
    return [ROOT / "Makefile", *included]


def parsed() -> tuple[set[str], dict[str, str]]:
    """(names listed in .PHONY, {target: its `## ` description or ""}) across the Makefile and its includes."""
    phony: set[str] = set()
    rules: dict[str, str] = {}
    for path in makefiles():
        for line in path.read_text().splitlines():
            match = RULE.match(line)
            if not match:
                continue
            targets = match["targets"].split()
            if targets == [".PHONY"]:
                phony.update(match["rest"].split())
                continue
            _, _, description = match["rest"].partition("## ")
            for target in targets:
                if not target.startswith("."):
                    rules[target] = rules.get(target) or description.strip()
    return phony, rules


def test_phony_names_only_targets_that_exist_and_every_named_target_is_phony() -> None:
    phony, rules = parsed()
    assert phony, "no .PHONY line found"
    assert sorted(phony - set(rules)) == [], ".PHONY names targets that no rule defines"
    # Named (not file) targets: a file of that name must not make them "up to date".
    assert sorted(set(rules) - phony) == [], "targets missing from .PHONY"


def test_every_target_has_a_description_for_make_help() -> None:
    _, rules = parsed()
    assert sorted(name for name, description in rules.items() if not description) == []


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target() -> None:
    _, rules = parsed()
    out = subprocess.run(["make", "--no-print-directory", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    listed = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("make ")]
    assert Counter(listed) == Counter(set(rules)), out.stdout
    for name, description in rules.items():
        assert description in out.stdout, name


# ---- Markdown links -------------------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(?P<target><[^>]*>|\S+)", re.MULTILINE)
HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"(?P<target>[^\"]+)\"", re.IGNORECASE)
HTML_ANCHOR = re.compile(r"<a\s[^>]*?(?:name|id)=\"(?P<name>[^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)[ \t#]*$", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def tracked_markdown() -> list[Path]:
    if shutil.which("git") and (ROOT / ".git").exists():
        # Tracked files, and new ones not yet added (but not ignored ones such as .venv's).
        command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"]
        out = subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        names = [n for n in out.stdout.decode().split("\0") if n]
    else:
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.md") if not any(s.startswith(".") for s in p.parts)]
    return sorted({ROOT / n for n in names if (ROOT / n).exists()})


def prose(text: str) -> str:
    """The Markdown without code blocks and code spans, whose brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its rendered text, lower-cased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found: set[str] = set()
    seen: Counter[str] = Counter()
    for match in HEADING.finditer(FENCE.sub("", text)):
        base = slug(match["text"])
        # GitHub numbers repeated headings: "usage", "usage-1", ...
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    found.update(m["name"] for m in HTML_ANCHOR.finditer(text))
    return found


def links(path: Path) -> list[str]:
    text = prose(path.read_text(encoding="utf-8"))
    targets = [m["target"] for pattern in (INLINE_LINK, REFERENCE, HTML_LINK) for m in pattern.finditer(text)]
    return [t.strip("<>") for t in targets]


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for target in links(path):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # absolute URLs: not checked offline
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif not linked.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif anchor and linked.suffix == ".md" and unquote(anchor).lower() not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(root)}")
    return broken


def test_markdown_link_checker_finds_what_it_should(tmp_path: Path) -> None:
    # The checker itself, on a file with one link of each kind, good and bad.
    (tmp_path / "other.md").write_text("# Deploy: step 1 (`make deploy`)\n\n## Usage\n\n## Usage\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n"
        "[ok](other.md#deploy-step-1-make-deploy) [ok](other.md#usage-1) [ok](#title) [ok](https://example.com/x)\n"
        "[missing](nowhere.md) [bad anchor](other.md#usage-2) [bad self](#nothing)\n"
        "`[not a link](code.md)`\n\n```\n[not a link](fenced.md)\n```\n\n[ref]: other.md#nope\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "nowhere.md: no such file",
        "other.md#usage-2: no heading #usage-2 in other.md",
        "#nothing: no heading #nothing in page.md",
        "other.md#nope: no heading #nope in other.md",
    ]


@pytest.mark.parametrize("path", tracked_markdown(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert broken_links(path) == []


def test_the_readme_stays_a_front_door() -> None:
    # Depth lives in docs/; the README is contents, the two commands, the API, deploy.
    assert len((ROOT / "README.md").read_bytes()) <= 12_000


# ---- Test layers ----------------------------------------------------------------------------------------------


def test_every_test_folder_has_its_markers_registered_and_a_row_in_tests_readme() -> None:
    import tomllib

    from tests.conftest import FOLDER_MARKERS

    folders = {p.parent.name for p in (ROOT / "tests").glob("*/test_*.py")}
    assert sorted(folders - set(FOLDER_MARKERS)) == [], "test folders without markers in tests/conftest.py"
    registered = {
        line.split(":", 1)[0]
        for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    }
    used = {marker for markers in FOLDER_MARKERS.values() for marker in markers}
    assert sorted(used - registered) == [], "markers tests/conftest.py applies but pyproject.toml does not register"
    readme = (ROOT / "tests" / "README.md").read_text()
    assert sorted(f for f in folders if f"| `{f}/` |" not in readme) == [], "layers missing from tests/README.md"


# ---- Layers of the tree -----------------------------------------------------------------------------------------

#: Top-level packages that dev/ (the local stack, the benchmarks, the build helpers) must not import: the tests
#: import dev/, and ops/ is what users run; a helper two of them need lives in a module all of them import.
NOT_FOR_DEV = ("tests", "ops")


def forbidden_imports(path: Path, forbidden: tuple[str, ...] = NOT_FOR_DEV) -> list[str]:
    """`file:line imports name` for each import of a `forbidden` package, at any depth of the module."""
    found: list[str] = []
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.extend(f"{shown}:{node.lineno} imports {name}" for name in names if name.split(".")[0] in forbidden)
    return found


def test_dev_imports_neither_tests_nor_ops() -> None:
    sources = sorted((ROOT / "dev").rglob("*.py"))
    assert sources, "no Python files under dev/"
    assert [hit for source in sources for hit in forbidden_imports(source)] == []


def test_the_dev_import_check_finds_top_level_and_nested_imports(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "from tests.conftest import load_source\n"
        "import testsuite, operator\n"
        "def main():\n"
        "    import ops.usage as usage\n"
        "    from . import ops\n"
    )
    assert forbidden_imports(source) == [
        f"{source}:1 imports tests.conftest",
        f"{source}:4 imports ops.usage",
    ]
