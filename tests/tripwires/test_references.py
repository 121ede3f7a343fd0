"""Tripwire: what the project's comments and documents point at exists.

A reference that dangles after a file moves or a name changes sends the reader
nowhere; this finds them in every tracked text file (Python: its comments and
strings; everything else: the whole text). The forms resolved, and how:

* A project path: text starting with a top-level folder of the repository
  (`genai_fn/`, `dev/`, `docs/`, `terraform/`, `tests/`, ...) followed by `/`,
  such as `dev/bench/probe.py` or `tests/tripwires/`. It must be a tracked file
  (or a new one not yet added), a folder holding one, or a path `.gitignore`
  says is made locally (`terraform/terraform.tfvars`, `dev/bench/results/`).
  Where the path runs into a pattern (`dev/mk/*.mk`, `examples/<name>/`), the
  folder before it is checked. URLs are not project paths: nothing after `://`
  or inside a `https://...` address is read.
* A section of a Markdown file, named after it in quotes: `README "Costs"`,
  `README.md 'Deploy'`, `docs/deploy.md "Clean up"`, or as an anchor outside a
  Markdown link, `docs/api.md#routes`. The file must exist and have that heading
  (GitHub's anchor of the heading, as the link checker in test_habits.py
  computes it).
* A symbol of the project's Python, in backticks: `` `genai_fn.routes.ROUTES` ``
  or `` `dev.local.stack.Stack.start` `` (a module, then a name defined at its top
  level, then optionally a name defined in that class), or a file's name:
  `` `dev/bench/__main__.py`'s `ROUTES` `` and the pytest form
  `tests/unit/test_auth.py::test_name`.
* Files users do not have: a citation of the development notes kept outside the
  repository is always reported (cite Oracle's page or the project's source).

Not resolved (too loose to check without noise): bare file names (`routes.py`),
names without their module (`Upstream.client`), and paths relative to the file
they are in (`naive/routes.py`); Markdown links are test_habits.py's job.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import tokenize
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

from tests.tripwires.test_habits import anchors, slug

ROOT = Path(__file__).resolve().parent.parent.parent

#: Tracked files read for references: text the project writes (generated locks and data are left out).
READ_SUFFIXES = {".py", ".md", ".tf", ".yaml", ".yml", ".toml", ".mk", ".in", ".example", ".policy", ".sh", ""}
SKIPPED = ("requirements*.txt", "*/requirements*.txt", "terraform/routes.json", "tests/terraform/data/*")
#: Where a project path can be a MIME type instead (`image/png`): those are not paths.
MIME = re.compile(r"image/(?:png|jpeg|gif|webp|svg\+xml)$")
#: This file: its docstring and its planted cases dangle on purpose.
SELF = "tests/tripwires/test_references.py"

# The notes kept beside the repository while it was written; users have neither (spelled so as not to match itself).
OUTSIDE = re.compile(r"FIELD[-]NOTES|\.\./shared/(?!terraform-provider)|/work/shared")
#: The one thing beside the clone the project may use: the offline build of the OCI provider, taken when it is
#: there and the registry otherwise (dev/terraform_checks.py); a path to it is a tool, not a citation.
PROVIDER_MIRROR = re.compile(r"^(?:\.\./)+shared(?:/terraform-provider(?:/[\w.-]*)?)?/?$")
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
QUOTED = r"(?:\"(?P<dq>[^\"\n]+)\"|'(?P<sq>[^'\n]+)'|“(?P<cq>[^”\n]+)”)"
FILE_SYMBOL = re.compile(r"`?(?P<path>[\w./-]+\.py)`?(?:'s `(?P<name>[A-Za-z_]\w*)`|::(?P<test>[A-Za-z_]\w*))")


@dataclass
class Tree:
    """The repository as the checker sees it: its root, tracked files and what .gitignore leaves out."""

    root: Path
    files: set[str]
    ignored_patterns: list[str] = field(default_factory=list)

    @property
    def folders(self) -> set[str]:
        return {str(Path(f).parent) for f in self.files} | {
            str(parent) for f in self.files for parent in Path(f).parents if str(parent) != "."
        }

    @property
    def top_folders(self) -> set[str]:
        return {f.split("/", 1)[0] for f in self.files if "/" in f}

    def is_ignored(self, path: str) -> bool:
        """Whether .gitignore covers `path`: a file made locally (state, results, virtual environments)."""
        parts = path.rstrip("/").split("/")
        for pattern in self.ignored_patterns:
            bare = pattern.strip("/")
            anchored = "/" in bare
            for i in range(len(parts)):
                prefix = "/".join(parts[: i + 1])
                if fnmatch(prefix, bare) if anchored else fnmatch(parts[i], bare):
                    return True
        return False


def git_tree(root: Path = ROOT) -> Tree:
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    names = subprocess.run(command, cwd=root, capture_output=True, check=True).stdout.decode().split("\0")
    files = {n for n in names if n and (root / n).exists()}
    patterns = [
        line.strip()
        for line in (root / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    return Tree(root, files, patterns)


def readable(tree: Tree) -> list[str]:
    return sorted(
        f
        for f in tree.files
        if (Path(f).suffix in READ_SUFFIXES or Path(f).name in {"Dockerfile", "Makefile"})
        and f != SELF
        and not any(fnmatch(f, pattern) for pattern in SKIPPED)
    )


def prose_of(path: Path) -> list[tuple[int, str]]:
    """(line, text) of what a reader reads as prose: a Python file's comments and strings, any other file whole."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return list(enumerate(text.splitlines(), 1))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            for offset, line in enumerate(token.string.splitlines()):
                found.append((token.start[0] + offset, line))
    return found


@cache
def defined(path: Path) -> dict[str, set[str]]:
    """{top-level name: names defined in its body (for a class)} of a Python file."""
    names: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef):
            inner = set()
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    inner.add(sub.name)
                elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                    inner.add(sub.target.id)
                elif isinstance(sub, ast.Assign | ast.AnnAssign | ast.AugAssign):
                    targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                    for target in targets:
                        for leaf in ast.walk(target):
                            if isinstance(leaf, ast.Name):
                                inner.add(leaf.id)
                            elif isinstance(leaf, ast.Attribute) and isinstance(leaf.value, ast.Name):
                                inner.add(leaf.attr)  # self.name = ...
            names[node.name] = inner
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names[leaf.id] = set()
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = set()
    return names


def resolve_symbol(tree: Tree, dotted: str) -> str | None:
    """None if `dotted` (module path, then up to two names) is defined in the project, else what is missing."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut])
        for candidate in (f"{module}.py", f"{module}/__init__.py"):
            if candidate in tree.files:
                rest = parts[cut:]
                if not rest:
                    return None
                names = defined(tree.root / candidate)
                if rest[0] in names or f"{module}/{rest[0]}.py" in tree.files:
                    if len(rest) == 1 or len(rest) > 2 or rest[1] in names.get(rest[0], {rest[1]}):
                        return None
                    return f"{candidate} has no {rest[0]}.{rest[1]}"
                return f"{candidate} defines no {rest[0]}"
        if module in tree.folders and cut == len(parts):
            return None
    return "no such module"


def check_path(tree: Tree, path: str) -> str | None:
    if MIME.match(path) or path.rstrip("/") in tree.files or path.rstrip("/") in tree.folders or tree.is_ignored(path):
        return None
    return "no such file or folder"


def dangling(tree: Tree, names: list[str] | None = None) -> list[str]:
    """Every reference in `names` (default: the tree's readable files) that does not resolve, as `file:line: why`."""
    tops = "|".join(re.escape(t) for t in sorted(tree.top_folders, key=len, reverse=True))
    project_path = re.compile(rf"(?<![\w./~$@{{-])(?:\./)?(?P<path>(?:{tops})/[\w.\-/]*)(?P<next>.?)")
    section = re.compile(rf"(?<![\w/.-])(?P<file>README(?:\.md)?|(?:(?:{tops})/)?[\w./-]*\.md)\s+{QUOTED}")
    packages = "|".join(sorted({f.split("/", 1)[0] for f in tree.files if "/" in f and f.endswith(".py")}))
    dotted = re.compile(rf"`(?P<name>(?:{packages})(?:\.[A-Za-z_]\w*)+)(?:\(\))?`")
    anchor = re.compile(rf"(?<![\w/.(-])(?P<file>README\.md|(?:{tops})/[\w./-]*\.md)#(?P<anchor>[\w-]+)")
    parent_path = re.compile(r"(?<![\w./-])(?P<path>(?:\.\./)+[\w][\w.\-/]*)")
    found = []
    for name in names if names is not None else readable(tree):
        for number, raw in prose_of(tree.root / name):
            line = URL.sub(" ", raw)
            where = f"{name}:{number}"
            if OUTSIDE.search(line):
                found.append(f"{where}: cites notes users do not have ({OUTSIDE.search(line)[0]})")  # type: ignore[index]
            for match in project_path.finditer(line):
                path = match["path"].rstrip(".,;:")
                if match["next"] in ("*", "{", "<", "$", "["):
                    path = path[: path.rfind("/") + 1]
                # A document may name a file relative to its own folder (terraform/README.md: tests/x.tftest.hcl).
                beside = os.path.join(os.path.dirname(name), path) if name.endswith(".md") else path
                why = check_path(tree, path) and check_path(tree, beside)
                if why:
                    found.append(f"{where}: {path}: {why}")
            for match in parent_path.finditer(line if not name.endswith(".py") else ""):
                relative = match["path"].rstrip(".,;:")
                if PROVIDER_MIRROR.match(relative):
                    continue
                resolved = os.path.normpath(os.path.join(os.path.dirname(name), relative))
                if not resolved.startswith("..") and check_path(tree, resolved):
                    found.append(f"{where}: {relative}: no such file or folder (from {os.path.dirname(name)}/)")
            for match in section.finditer(line):
                heading = match["dq"] or match["sq"] or match["cq"]
                file = match["file"]
                file = "README.md" if file == "README" else file
                if file not in tree.files:
                    continue  # a quoted phrase after a bare document name: not a section reference
                if slug(heading) not in anchors(tree.root / file):
                    found.append(f"{where}: {file} has no section {heading!r}")
            for match in anchor.finditer(line):
                if match["file"] not in tree.files:
                    found.append(f"{where}: {match['file']}: no such file")
                elif match["anchor"].lower() not in anchors(tree.root / match["file"]):
                    found.append(f"{where}: {match['file']} has no heading #{match['anchor']}")
            for match in dotted.finditer(line):
                # `usage_metrics.tf` in terraform/README.md is a file beside the document, not a module's attribute.
                if check_path(tree, os.path.join(os.path.dirname(name), match["name"])) is None:
                    continue
                why = resolve_symbol(tree, match["name"])
                if why:
                    found.append(f"{where}: {match['name']}: {why}")
            for match in FILE_SYMBOL.finditer(line):
                file, symbol = match["path"].removeprefix("./"), match["name"] or match["test"]
                if file not in tree.files:
                    continue  # a relative or bare name: not resolved (see the docstring); a project path is above
                if symbol not in defined(tree.root / file):
                    found.append(f"{where}: {file} defines no {symbol}")
    return found


def test_the_checker_reports_each_kind_of_dangling_reference(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "README.md").write_text("# Title\n\n## Costs\n\nSee docs/guide.md and `pkg.mod.Thing.run`.\n")
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\n## Deploy\n\n"
        'Good: docs/guide.md "Deploy", README "Costs", docs/guide.md#deploy, pkg/, pkg/mod.py,\n'
        "`pkg.mod.Thing.run`, `pkg.mod.helper`, `pkg/mod.py`'s `helper`, pkg/*.py, pkg/<name>.py, out/run.log,\n"
        "`pkg.cfg`, https://example.com/pkg/gone.py.\n"
        'Bad: pkg/gone.py, README "Performance", docs/guide.md#nowhere, `pkg.mod.missing`,\n'
        "`pkg.mod.Thing.stop`, `pkg/mod.py`'s `gone`, pkg/mod.py::test_gone, and the FIELD" + "-NOTES.\n"
        "From here: ../pkg/mod.py, ../pkg/gone.py.\n"
    )
    (tmp_path / "pkg" / "mod.py").write_text(
        '"""Built by pkg/build.py."""\n\n\nclass Thing:\n    def run(self) -> None:\n        self.state = 1\n\n\n'
        "def helper() -> None:\n    path = 'pkg/mod.py'  # see pkg/mod.py, not pkg/old/\n"
    )
    (tmp_path / "docs" / "pkg.cfg").write_text("a file beside the guide, named like pkg's attribute\n")
    files = {"README.md", "docs/guide.md", "docs/pkg.cfg", "pkg/mod.py"}
    tree = Tree(tmp_path, files, ["out/"])

    assert dangling(tree, sorted(files - {"docs/pkg.cfg"})) == [
        "docs/guide.md:8: pkg/gone.py: no such file or folder",
        "docs/guide.md:8: README.md has no section 'Performance'",
        "docs/guide.md:8: docs/guide.md has no heading #nowhere",
        "docs/guide.md:8: pkg.mod.missing: pkg/mod.py defines no missing",
        "docs/guide.md:9: cites notes users do not have (FIELD" + "-NOTES)",
        "docs/guide.md:9: pkg.mod.Thing.stop: pkg/mod.py has no Thing.stop",
        "docs/guide.md:9: pkg/mod.py defines no gone",
        "docs/guide.md:9: pkg/mod.py defines no test_gone",
        "docs/guide.md:10: ../pkg/gone.py: no such file or folder (from docs/)",
        "pkg/mod.py:1: pkg/build.py: no such file or folder",
        "pkg/mod.py:10: pkg/old/: no such file or folder",
    ]


def test_every_reference_in_the_project_resolves() -> None:
    assert dangling(git_tree()) == []
