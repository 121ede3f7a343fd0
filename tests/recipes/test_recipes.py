"""Every recipe of docs/make-it-yours.md, performed on a copy of the project and proved through the local gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import openai
import pytest

from tests.recipes.support import command_env, copy_project, make_run, recipe

pytestmark = pytest.mark.integration


def sdk(run: Any) -> openai.OpenAI:
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
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(model=old_model, input="hi")
        assert refused.value.code == "model_not_allowed"
        assert sorted(m.id for m in client.models.list()) == sorted(deployed["GENAI_ALLOWED_MODELS"].split(","))
        assert f"(model {new_model})" in "".join(run.output), "make run's own sample request used the new default"
