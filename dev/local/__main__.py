"""`make run`: the function running locally exactly as OCI runs it, then a sample call.

python -m dev.local                 # emulated OCI; serve until Ctrl-C
python -m dev.local --once          # one sample request, then exit
python -m dev.local --failover      # regional failover: home throttled, a 2nd emulator serves (failover.py)
python -m dev.local --real          # the real OCI Generative AI, signed with your OCI CLI session
                                # (needs GENAI_PROJECT_OCID and GENAI_REGION; OCI_AUTH=session by default),
                                # or with your Generative AI API key (OCI_GENAI_API_KEY or _FILE set: OCI_AUTH=api_key)
python -m dev.local --api-key       # emulated, the function sending an API key the local stack issued
python -m dev.local --no-metrics    # without the usage-metrics function and its emulated Monitoring

Emulated, the usage-metrics function (usage_metrics/) runs beside the main one: a
local connector hands it each call's log line every 2 s, and it posts token metrics
to an emulated Monitoring (dev/local/connector.py); `python -m dev.local.metrics`
prints their sums by client and model.

The model settings in your environment (GENAI_DEFAULT_MODEL, GENAI_ALLOWED_MODELS,
GENAI_MODEL_ALIASES, GENAI_MAX_OUTPUT_TOKENS, GENAI_DEFAULT_OUTPUT_TOKENS) configure
the local function in both modes, and the emulator serves the models they name:
`GENAI_MODEL_ALIASES=gpt-4o-mini=openai.gpt-oss-120b make run` tries an alias.
The sample request uses the first alias, else the default model.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import openai

from genai_fn.settings import Settings, SettingsError
from usage_metrics.report import INVOCATIONS as INVOCATION_LOG
from usage_metrics.report import LIMITS_STATE
from usage_metrics.report import METRICS as METRICS_RECORD

from . import clients as local_clients
from .cache import limits_table
from .connector import UsageMetrics
from .credentials import claims_of
from .metrics import read as read_metrics
from .metrics import sums as metric_sums
from .stack import Stack, check_config, developer_config

#: The signals that stop `make run`: Ctrl-C, and what `kill`, a supervisor or an IDE's stop button sends.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """`make run` was asked to stop by a signal: raised in the main thread, so every `with` unwinds.

    Python's default for SIGTERM ends the process at once, without running any exit: the function
    containers it started (genai_fn.boot ... func.py handler) would be left running, re-parented to PID 1.
    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_on_signals() -> None:
    """Turn SIGINT and SIGTERM into `Stopped` in the main thread; any later one is ignored while it stops."""

    def stop(signum: int, _frame: object) -> None:
        for number in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(number, signal.SIG_IGN)
        raise Stopped(signum)

    for number in STOP_SIGNALS:
        signal.signal(number, stop)


def sample_model(settings: Settings) -> str:
    """The model the sample request names: the first alias (to show it at work), else the default model."""
    return next(iter(settings.model_aliases), settings.default_model)


def main(argv: list[str] | None = None) -> int:
    stop_on_signals()
    try:
        return _run(argv)
    except Stopped as stopped:
        # Everything it started has been stopped on the way out (each part is a context manager).
        print(f"\nStopped ({stopped}).", flush=True)
        return 0


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--once", action="store_true", help="send the sample request and exit")
    parser.add_argument("--port", type=int, default=8080, help="gateway port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--prefix", default="", help="gateway path prefix, like the deployment's (e.g. /genai)")
    parser.add_argument("--containers", type=int, default=1, help="function containers behind the gateway")
    parser.add_argument("--real", action="store_true", help="call the real OCI Generative AI instead of the emulator")
    parser.add_argument(
        "--api-key",
        action="store_true",
        help="emulated, but the function sends a Generative AI API key the local stack issued (OCI_AUTH=api_key)",
    )
    parser.add_argument("--input", default="Hello from a local OCI Function!", help="the sample request's input")
    parser.add_argument(
        "--venv",
        action="store_true",
        help="run on .venv's packages with fdk's own command instead of the image's trimmed dependencies",
    )
    parser.add_argument("--failover", action="store_true", help="show regional failover on two emulators")
    parser.add_argument(
        "--clients",
        type=Path,
        default=local_clients.CLIENTS_FILE,
        help="Terraform JSON variable file with api_clients and cors_allowed_origins (docs/clients.md)",
    )
    parser.add_argument(
        "--invocations",
        type=Path,
        default=INVOCATION_LOG,
        help="file each call's log line is appended to, for `make usage ARGS=--local` (default: %(default)s)",
    )
    parser.add_argument(
        "--no-metrics",
        dest="metrics",
        action="store_false",
        help="do not start the usage-metrics function, its connector and the emulated Monitoring",
    )
    parser.add_argument(
        "--metrics-file",
        type=Path,
        default=METRICS_RECORD,
        help="file the emulated Monitoring appends datapoints to, for python -m dev.local.metrics (%(default)s)",
    )
    args = parser.parse_args(argv)
    if args.failover:  # its own module: docs/failover.md
        from . import failover

        return failover.run(port=args.port, prefix=args.prefix, image=not args.venv, once=args.once)

    if args.real and args.api_key:
        parser.error("--api-key is the emulated API-key path; with --real, set OCI_GENAI_API_KEY or _FILE instead")
    if args.real and not os.environ.get("GENAI_PROJECT_OCID"):
        parser.error("--real needs GENAI_PROJECT_OCID (and GENAI_REGION) in the environment")

    config = developer_config(os.environ)
    try:
        clients_file = local_clients.load(args.clients)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        policies = local_clients.stack_policies(clients_file.api_clients, real=args.real)
    except ValueError as exc:
        parser.error(f"{args.clients}: {exc}")
    if policies:
        config["GENAI_CLIENT_POLICIES"] = policies
    try:
        settings = check_config(config)
    except SettingsError as exc:
        parser.error(str(exc))
    model = sample_model(settings)

    if not args.venv:
        print("Building the image's dependency folder (pip install --target, then image/trim.py; once)...", flush=True)
    stack = Stack(
        containers=args.containers,
        prefix=args.prefix,
        config=config,
        real=args.real,
        port=args.port,
        image=not args.venv,
        api_clients=clients_file.api_clients,
        cors_allowed_origins=clients_file.cors_allowed_origins,
        invocation_log=args.invocations,
        api_key=args.api_key,
    )
    with ExitStack() as running:
        running.enter_context(stack)
        if stack.cache is not None:
            stack.cache.write_state(LIMITS_STATE, limits_table(check_config(stack.config)))
            running.callback(LIMITS_STATE.unlink, missing_ok=True)
        metering = None
        if args.metrics and stack.issuer is not None:
            # A connector batch every 2 s (Connector Hub's batch window is a setting; Oracle's example is 5 s).
            metering = running.enter_context(
                UsageMetrics(
                    stack.issuer,
                    args.invocations,
                    record=args.metrics_file,
                    interval_s=None if args.once else 2.0,
                    skip_existing=True,
                )
            )
        where = "real OCI Generative AI" if args.real else f"emulated Generative AI at {stack.emulator.base_url}"  # type: ignore[union-attr]
        print(f"Gateway   {stack.base_url}  (API key auth; /health is open)")
        pids = [r.pid for r in stack.runners]
        if stack.site_dir:
            print(f"Function  func.py under fdk (Dockerfile entry point), {args.containers} container(s), pid {pids}")
            print(f"          dependencies: {stack.site_dir} (as the image's /python, python -S)")
        else:
            print(f"Function  func.py under fdk (.venv), {args.containers} container(s), pid {pids}")
        print(f"Upstream  {where}")
        print(f"Usage     each call's log line appended to {args.invocations}: make usage ARGS=--local")
        if stack.cache is not None:
            store = stack.cache.function_config()["GENAI_LIMIT_STORE"]
            print(f"Limits    token limits on a local OCI Cache (valkey-server, IAM sign-in) at {store}")
        if metering is not None:
            print("Metrics   usage_metrics/func.py under fdk, fed from that file by a local connector")
            telemetry = metering.telemetry.base_url
            print(f"          emulated Monitoring {telemetry} → {args.metrics_file}: python -m dev.local.metrics")
        allowed = ", ".join(sorted(settings.allowed_models)) if settings.allowed_models is not None else "any"
        aliases = ", ".join(f"{k} → {v}" for k, v in settings.model_aliases.items()) or "none"
        print(f"Models    default {settings.default_model}; allowed: {allowed}; aliases: {aliases}")
        if stack.api_key_file:
            print(f"Identity  a Generative AI API key the emulator issued (OCI_AUTH=api_key, {stack.api_key_file})")
        if stack.principal:
            claims = claims_of(stack.principal.token)
            print(f"Identity  emulated resource principal {claims['res_id']} (keys in {stack.principal.directory})")
        print()

        client = stack.openai()
        try:
            response = client.responses.create(model=model, input=args.input)
        except openai.APIStatusError as exc:
            print(f"Sample request failed: {exc.status_code} {json.dumps(exc.body)}", file=sys.stderr)
            return 1
        print(f"Sample request through the gateway (model {model}) → {response.id}")
        print(f"  model:       {response.model}")
        print(f"  output_text: {response.output_text}")
        print(f"  usage:       {response.usage.model_dump(include={'input_tokens', 'output_tokens'})}")  # type: ignore[union-attr]
        if stack.emulator:
            call = stack.emulator.calls[-1]
            checked = "API key accepted" if stack.api_key_file else "signature verified"
            print(f"  upstream:    {call.method} {call.path} → {call.status}, {checked} (jti {call.jti})")
        table = json.loads(stack.config.get("GENAI_CLIENT_POLICIES") or "{}")
        for name, client_key in stack.client_keys.keys.items():
            policy = {k: v for k, v in clients_file.api_clients[name].items() if k in local_clients.POLICY_FIELDS}
            print(f"Client    {name}: key {client_key}; policy {json.dumps(policy) if policy else 'none (global)'}")
            if "project" in table.get(name, {}):
                print(f"          own project {table[name]['project']} (docs/clients.md#isolation)")
            if policy:
                # The sample request again, as this client: what its policy makes of it.
                answer = stack.client(auth=False).post(
                    "/v1/responses",
                    json={"model": model, "input": args.input},
                    headers={"Authorization": f"Bearer {client_key}"},
                )
                error = answer.json().get("error") if answer.status_code >= 400 else None
                said = f" {error['code']}: {error['message']}" if isinstance(error, dict) else ""
                print(f"          the sample request as {name} → {answer.status_code}{said}")
        if "project" in table.get("local", {}) and stack.client_keys.keys:
            # The sample response is the stack's own client's: to any other client it does not exist.
            name, client_key = next(iter(stack.client_keys.keys.items()))
            seen = stack.client(auth=False).get(
                f"/v1/responses/{response.id}", headers={"Authorization": f"Bearer {client_key}"}
            )
            code = seen.json().get("error", {}).get("code", "") if seen.status_code >= 400 else ""
            print(f"Isolation the sample response as {name} → {seen.status_code} {code}")
        if clients_file.cors_allowed_origins:
            print(f"CORS      origins {', '.join(clients_file.cors_allowed_origins)}")
        if metering is not None and metering.connector is not None and args.once:
            # The connector's one pass, now (`make run` proper delivers every 2 s in the background).
            stack.runner.invocations()  # every line of the calls above is in the file
            metering.connector.deliver()
            for (name, model), row in sorted(metric_sums(read_metrics(args.metrics_file)).items()):
                counts = ", ".join(f"{metric} {value:.0f}" for metric, value in row.items())
                print(f"Metrics   {name} / {model}: {counts}")
        if args.once:
            return 0

        key = stack.api_keys.key
        print(
            f"""
Try it (Ctrl-C to stop):

  curl -s {stack.base_url}/health
  curl -s {stack.base_url}/ -H 'Authorization: Bearer {key}' -H 'Content-Type: text/plain' -d 'What is OCI?'
  curl -s {stack.base_url}/v1/responses -H 'Authorization: Bearer {key}' \\
       -H 'Content-Type: application/json' -d '{{"input": "Hi", "stream": true}}'
  curl -s {stack.base_url}/v1/chat/completions -H 'Authorization: Bearer {key}' \\
       -H 'Content-Type: application/json' -d '{{"messages": [{{"role": "user", "content": "Hi"}}]}}'
  curl -s {stack.base_url}/v1/models -H 'Authorization: Bearer {key}'
  make smoke URL={stack.base_url} KEY={key}

  python -c "import openai; c = openai.OpenAI(base_url='{stack.base_url}/v1', api_key='{key}'); \\
print(c.responses.create(model='{model}', input='Hi').output_text)"
"""
        )
        for runner in [*stack.runners, *([metering.runner] if metering and metering.runner else [])]:
            runner.echo_logs = True
        threading.Event().wait()  # until a stop signal raises `Stopped`
    return 0


if __name__ == "__main__":
    sys.exit(main())
