"""Every recipe of docs/make-it-yours.md, performed on a copy of the project and proved through the local gateway."""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import httpx
import openai
import pytest

from tests.integration.recipes import Block, LocalRun, command_env, copy_project, make_run, recipe

pytestmark = pytest.mark.integration


def sdk(run: LocalRun) -> openai.OpenAI:
    return openai.OpenAI(base_url=run.base_url + "/v1", api_key=run.key, max_retries=0, timeout=60)


def _strip(value: Any) -> Any:
    """python-hcl2 8.x keeps the quotes of strings; the values as Terraform reads them."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _function_config(terraform: Path) -> dict[str, str]:
    """The expressions of the function's configuration map, as terraform/*.tf define it."""
    for tf in sorted(terraform.glob("*.tf")):
        for block in hcl2.loads(tf.read_text()).get("locals", []):
            config = block.get("function_config")
            if isinstance(config, dict):
                return {k: _strip(v) for k, v in config.items()}
    raise AssertionError("no locals.function_config in terraform/*.tf")


def test_change_the_default_model_and_the_allow_list(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    tfvars_block, run_block = recipe("Change the default model and the allow-list")
    assert (tfvars_block.language, run_block.language) == ("hcl", "sh")

    # Deployed: README's Deploy step 1 (copy the example), then the recipe's lines.
    terraform = project / "terraform"
    tfvars = terraform / "terraform.tfvars"
    tfvars.write_text((terraform / "terraform.tfvars.example").read_text() + "\n" + tfvars_block.text)
    values = {k: _strip(v) for k, v in hcl2.loads(tfvars.read_text()).items()}
    declared = {
        name.strip('"') for block in hcl2.loads((terraform / "variables.tf").read_text())["variable"] for name in block
    }
    set_here = {k for k in hcl2.loads(tfvars_block.text)}
    assert set_here and set_here <= declared, (
        f"the recipe sets variables terraform does not declare: {set_here - declared}"
    )
    # The variables are the ones functions.tf puts into the function's configuration (plan needs a provider).
    config = _function_config(terraform)
    assert config["GENAI_DEFAULT_MODEL"] == "${var.genai_default_model}"
    assert config["GENAI_ALLOWED_MODELS"] == '${join(",", var.genai_allowed_models)}'
    deployed = {
        "GENAI_DEFAULT_MODEL": values["genai_default_model"],
        "GENAI_ALLOWED_MODELS": ",".join(values["genai_allowed_models"]),
    }

    # Locally: the recipe's command line; the same configuration the deployed function would get.
    env, command = command_env(run_block.text.strip())
    assert command == ["make", "run"] and env == deployed
    new_model, old_model = deployed["GENAI_DEFAULT_MODEL"], "openai.gpt-oss-120b"
    assert new_model != old_model and old_model not in deployed["GENAI_ALLOWED_MODELS"].split(",")
    with make_run(project, env) as run, sdk(run) as client:
        for model in deployed["GENAI_ALLOWED_MODELS"].split(","):
            assert client.responses.create(model=model, input="hi").model == model
        with pytest.raises(openai.NotFoundError) as refused:
            client.responses.create(model=old_model, input="hi")
        assert refused.value.code == "model_not_found"
        assert sorted(m.id for m in client.models.list()) == sorted(deployed["GENAI_ALLOWED_MODELS"].split(","))
        assert f"(model {new_model})" in "".join(run.output), "make run's own sample request used the new default"


def _routes_py(project: Path) -> Path:
    return project / "genai_fn" / "routes.py"


def _at_end_of_routes(source: str, row: str) -> str:
    """`row` inserted before the closing parenthesis of `ROUTES = (`."""
    start = source.index("\nROUTES: tuple[Route, ...] = (\n")
    end = source.index("\n)\n", start)
    return source[: end + 1] + row + source[end + 1 :]


def _above_check_table(source: str, line: str) -> str:
    assert source.count("\ncheck_table(ROUTES)\n") == 1
    return source.replace("\ncheck_table(ROUTES)\n", f"\n{line}\n\n\ncheck_table(ROUTES)\n")


def _run(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """A command of the project's, in the copy, on this checkout's interpreter (`make` would rebuild .venv)."""
    done = subprocess.run([sys.executable, *command], cwd=project, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done


def _make_routes(project: Path, block: Block) -> None:
    assert block.text.strip() == "make routes"
    _run(project, "-m", "dev.routes_gen")  # what `make routes` runs (dev/mk/routes.mk)
    # What the copy's fast tests check: the table is consistent, and what it generates is up to date.
    _run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_route_table.py")
    _run(project, "-m", "ruff", "check", "genai_fn")
    _run(project, "-m", "ruff", "format", "--check", "genai_fn")


def _emulator_calls(run: LocalRun) -> list[dict[str, Any]]:
    found = re.search(r"emulated Generative AI at (http://[^/\s]+)", "".join(run.output))
    assert found, "make run names its emulator"
    calls: list[dict[str, Any]] = httpx.get(found[1] + "/_emulator/calls", timeout=10).json()["calls"]
    return calls


def test_add_a_custom_route(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    copy, imports, row, regenerate, try_it = recipe("Add a custom route")

    source, target = shlex.split(copy.text)[1:]
    assert shlex.split(copy.text)[0] == "cp"
    shutil.copy(project / source, project / target)  # into the folder, as cp does
    routes_py = _routes_py(project)
    code = routes_py.read_text()
    (old_import,) = [line for line in code.splitlines() if line.startswith("from . import ")]
    # The block shows the line's end: the names already there, with the module the recipe adds in its
    # alphabetical place (ruff's import order, which `make lint` checks).
    shown = imports.text.strip().removeprefix("from . import ...,").split(",")
    names = old_import.removeprefix("from . import ").split(", ")
    assert [n.strip() for n in shown] == sorted([*names, "summarise"])[-len(shown) :], imports.text
    code = code.replace(old_import, "from . import " + ", ".join(sorted([*names, "summarise"])))
    # The block shows the table around the row: its first line, the rows already there, the closing line.
    head, there, *added, tail = row.text.splitlines(keepends=True)
    assert (head, there.split("#")[0].strip(), tail) == ("ROUTES: tuple[Route, ...] = (\n", "...", ")\n")
    routes_py.write_text(_at_end_of_routes(code, "".join(added)))
    _make_routes(project, regenerate)
    _run(project, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy"), "genai_fn")  # the handler is typed

    curl = next(line for line in try_it.text.splitlines() if line.startswith("curl"))
    words = shlex.split(curl)
    url, body = words[2], json.loads(words[words.index("-d") + 1])
    path = url.removeprefix("http://127.0.0.1:8080")
    with make_run(project, {}) as run, httpx.Client(base_url=run.base_url, timeout=60) as http:
        answer = http.post(path, json=body, headers={"Authorization": f"Bearer {run.key}"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"summary": f"Echo: {body['text']}", "model": "openai.gpt-oss-120b"}
        refused = http.post(path, json={"text": ""}, headers={"Authorization": f"Bearer {run.key}"})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "text"
        assert http.post(path, json=body).status_code == 401, "behind the API key like every route"
        calls = _emulator_calls(run)
    sent = [c for c in calls if c["path"] == "/openai/v1/responses" and c["body"].get("input") == body["text"]]
    assert len(sent) == 1 and sent[0]["status"] == 200 and sent[0]["jti"], "sent once, signed, by the SDK"
    assert sent[0]["body"]["instructions"].startswith("Summarise") and sent[0]["body"]["store"] is False


def test_turn_off_a_route_family(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    line, regenerate = recipe("Turn off a route family")
    routes_py = _routes_py(project)
    routes_py.write_text(_above_check_table(routes_py.read_text(), line.text.strip()))
    _make_routes(project, regenerate)
    assert "/v1/containers" not in (project / "terraform" / "routes.json").read_text()

    with make_run(project, {}) as run, sdk(run) as client:
        with pytest.raises(openai.NotFoundError):
            client.containers.create(name="sandbox")
        with pytest.raises(openai.NotFoundError):
            client.containers.list()
        assert client.responses.create(model="openai.gpt-oss-120b", input="still here").output_text
        uploaded = client.files.create(file=("a.txt", io.BytesIO(b"kept"), "text/plain"), purpose="user_data")
        assert client.files.retrieve(uploaded.id).bytes == 4
        calls = _emulator_calls(run)
    assert not [c for c in calls if "/containers" in c["path"]], "the function was not even reached"
