"""The emulated model: what it answers to one request, whichever API (Responses or Chat Completions) carried it.

Deterministic, and plausible enough that a framework's agent loop ends:

- text is "Echo: <question>" with the question's newlines kept (a parser that
  reads lines, such as DSPy's, sees them), then "Tool output: <result>" for
  each tool result that arrived;
- a function tool is called at most once per user turn, and never after its
  result arrived, whatever carried it: a `tool` message, a
  `function_call_output` item, or a user message holding an observation (as
  smolagents sends one, "Observation:\\n…", and as DSPy's ReAct lays out its
  trajectory, "[[ ## observation_0 ## ]]"). Once a result is in, a tool that
  ends the loop (`final_answer`, `finish`, `final_result`) is called with the
  answer, if offered; otherwise the answer is text;
- a JSON schema (structured outputs, a tool's parameters) is filled with every
  property, optional ones included, each of its type: an enum's first value
  (or `finish` once a result arrived), at least one array item;
- `json_object`, and a prompt asking for a ```json block or "a JSON object", get the object the
  prompt describes: a JSON schema it embeds (instructor), the output fields
  it lists (DSPy's adapters), a JSON example it embeds; else {"echo": …};
- a prompt asking for DSPy's `[[ ## field ## ]]` sections gets them.

None of this is a model; it is enough for tests to assert what a client did.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .wire import strip_marks

#: Tools whose call ends an agent's loop (smolagents, DSPy's ReAct, pydantic-ai), called once a result arrived.
FINISHERS = ("final_answer", "finish", "final_result")
#: String properties that hold the answer itself (smolagents' final_answer, DSPy's answer field).
ANSWER_NAMES = ("answer", "final_answer", "result", "response", "output", "text", "content")
#: A user message carrying a tool's result: smolagents' "Observation:" line, DSPy's "[[ ## observation_N ## ]]".
_OBSERVATION = re.compile(
    r"^[ \t]*(?:\[\[ ## observation(?:_\d+)? ## \]\]|observation:)[ \t]*\n?(.*?)(?=^[ \t]*\[\[ ## |^Respond with |\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
#: DSPy's ChatAdapter asks for its output as `[[ ## name ## ]]` sections, ending with `[[ ## completed ## ]]`.
_SECTIONS = re.compile(r"Respond with the corresponding output fields, starting with the field (.*)", re.DOTALL)
_SECTION_NAME = re.compile(r"`\[\[ ## (\w+) ## \]\]`")
#: DSPy's adapters list their output fields in the system message: "1. `name` (type): description".
_OUTPUT_FIELDS = re.compile(r"Your output fields are:\s*\n(.*?)(?:\n\s*\n|\Z)", re.DOTALL)
_FIELD_LINE = re.compile(r"^\s*\d+\.\s+`(\w+)`\s+\((.+?)\):")
#: DSPy's ReAct describes each tool: "(1) get_weather, whose description is <desc>…</desc>. It takes arguments {…}."
_TOOL_ARGS = re.compile(r"\(\d+\) (\w+)(?:, whose description is <desc>.*?</desc>)?\. It takes arguments ", re.DOTALL)
#: A prompt asking for JSON in a code block (instructor's MD_JSON mode) or as the whole answer (DSPy's JSONAdapter).
_FENCE = re.compile(r"```json|json code ?block", re.IGNORECASE)
_JSON_ASKED = re.compile(r"respond with a JSON object", re.IGNORECASE)


def tidy(text: str) -> str:
    """Fault marks out, each line's spaces collapsed, the newlines kept."""
    lines = [" ".join(line.split()) for line in strip_marks(text).split("\n")]
    return "\n".join(lines).strip()


def observations(text: str) -> list[str]:
    """The tool results a user message carries (smolagents' and DSPy ReAct's layouts), else []."""
    return [tidy(m.group(1)) for m in _OBSERVATION.finditer(text)]


def cut(text: str, limit: Any) -> tuple[str, int, bool]:
    """`text` cut after its `limit`-th word (whitespace between words kept), its word count, and whether it was cut."""
    spans = [m.end() for m in re.finditer(r"\S+", text)]
    if isinstance(limit, int) and len(spans) > limit:
        return (text[: spans[limit - 1]] if limit > 0 else ""), limit, True
    return text, len(spans), False


@dataclass
class Turn:
    """What the model reads in a request."""

    #: The question, newlines kept: what "Echo: …" repeats.
    question: str
    #: Every instruction, system and user text, for the fields and schemas a prompt names.
    prompt: str
    #: Tool results that arrived since the last user message that was not itself a result.
    results: list[str] = field(default_factory=list)
    #: Function tools as {"name", "parameters"}.
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"


def carried_results(role: str, text: str) -> list[str] | None:
    """A message's tool results if it carries any (None for an ordinary message)."""
    if role in ("tool", "function"):
        return [tidy(text)]
    if role == "user":
        found = observations(text)
        return found or None
    return None


def results_this_turn(messages: list[tuple[str, str]]) -> list[str]:
    """Results carried after the last user message that is not itself a result, oldest first."""
    found: list[list[str]] = []
    for role, text in messages:
        carried = carried_results(role, text)
        if carried is not None:
            found.append(carried)
        elif role == "user":
            found = []
    return [r for rs in found for r in rs]


@dataclass
class Call:
    name: str
    arguments: str


def decide(turn: Turn) -> Call | None:
    """The tool to call, or None to answer with text."""
    if not turn.tools or turn.tool_choice == "none":
        return None
    by_name = {t["name"]: t for t in turn.tools}
    forced = turn.tool_choice
    if isinstance(forced, dict):
        name = forced.get("name") or (forced.get("function") or {}).get("name")
        if name in by_name:
            return _call(turn, by_name[name])
    finishers = [t for t in turn.tools if t["name"] in FINISHERS]
    workers = [t for t in turn.tools if t["name"] not in FINISHERS]
    if turn.results:
        if finishers:
            return _call(turn, finishers[0])
        return _call(turn, workers[0]) if forced == "required" else None
    return _call(turn, (workers or finishers)[0])


def _call(turn: Turn, tool: dict[str, Any]) -> Call:
    schema = tool.get("parameters") or {"type": "object"}
    return Call(tool["name"], json.dumps(Filler(turn).fill(schema), ensure_ascii=False))


def answer_line(turn: Turn) -> str:
    """The answer on one line, for a JSON string or a final-answer tool."""
    if turn.results:
        return " ".join(f"Tool output: {r}" for r in turn.results).replace("\n", " ")
    return "Echo: " + " ".join(turn.question.split())


def text_answer(turn: Turn, response_format: dict[str, Any]) -> str:
    """The text of the answer: structured when the request or its prompt asks for a structure, else the echo."""
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = response_format.get("schema")
        if schema is None:
            schema = (response_format.get("json_schema") or {}).get("schema")
        return json.dumps(Filler(turn).fill(schema or {}), ensure_ascii=False)
    if kind == "json_object":
        return json.dumps(json_object(turn), ensure_ascii=False)
    sections = _SECTIONS.search(turn.prompt)
    if sections:
        return dspy_sections(turn, _SECTION_NAME.findall(sections.group(1)))
    if _FENCE.search(turn.prompt) and (described := described_schema(turn.prompt)) is not None:
        return "```json\n" + json.dumps(Filler(turn).fill(described), ensure_ascii=False) + "\n```"
    if _JSON_ASKED.search(turn.prompt) and (described := described_schema(turn.prompt)) is not None:
        return json.dumps(Filler(turn).fill(described), ensure_ascii=False)
    parts = [f"Echo: {turn.question}"] if turn.question or not turn.results else []
    parts += [f"Tool output: {r}" for r in turn.results]
    return " ".join(parts)


def json_object(turn: Turn) -> Any:
    described = described_schema(turn.prompt)
    if described is None:
        return {"echo": turn.question}
    return Filler(turn).fill(described)


def dspy_sections(turn: Turn, names: list[str]) -> str:
    """DSPy's ChatAdapter layout: each output field under its `[[ ## name ## ]]` header, then `completed`."""
    fields = dspy_output_fields(turn.prompt) or {}
    wanted = [n for n in names if n != "completed"]
    schema = {"type": "object", "properties": {n: fields.get(n, {"type": "string"}) for n in wanted}}
    value = Filler(turn).fill(schema)
    blocks = [
        f"[[ ## {n} ## ]]\n{v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for n, v in value.items()
    ]
    return "\n\n".join([*blocks, "[[ ## completed ## ]]"])


# -- what a prompt describes -------------------------------------------------------------


def described_schema(prompt: str) -> dict[str, Any] | None:
    """The object a prompt asks for: an embedded JSON schema, DSPy's output fields, or an embedded JSON example."""
    embedded = list(json_objects(prompt))
    for value in embedded:
        if isinstance(value.get("properties"), dict):
            return value
    fields = dspy_output_fields(prompt)
    if fields:
        return {"type": "object", "properties": fields}
    for value in embedded:
        if value:
            return example_schema(value)
    return None


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object embedded in the text, outermost ones, in order."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = text.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        index = text.find("{", end)
    return found


def example_schema(value: Any) -> dict[str, Any]:
    """A schema whose instance has the example's keys and value types."""
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: example_schema(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": example_schema(value[0]) if value else {}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    return {"type": "string"}


def dspy_output_fields(prompt: str) -> dict[str, dict[str, Any]] | None:
    """DSPy's "Your output fields are:" list, each field's Python type read as a JSON schema."""
    block = _OUTPUT_FIELDS.search(prompt)
    if not block:
        return None
    fields: dict[str, dict[str, Any]] = {}
    for line in block.group(1).splitlines():
        found = _FIELD_LINE.match(line)
        if found:
            fields[found.group(1)] = python_type_schema(found.group(2))
    return fields or None


def python_type_schema(annotation: str) -> dict[str, Any]:
    """A JSON schema for a Python annotation as DSPy prints it (str, int, Literal['a', 'b'], dict[str, Any], ...)."""
    annotation = annotation.strip()
    literal = re.fullmatch(r"Literal\[(.*)\]", annotation)
    if literal:
        try:
            values = ast.literal_eval(f"[{literal.group(1)}]")
        except (ValueError, SyntaxError):
            values = []
        return {"enum": values} if values else {"type": "string"}
    head = annotation.split("[", 1)[0].lower()
    kinds = {"int": "integer", "float": "number", "bool": "boolean", "dict": "object", "list": "array"}
    return {"type": kinds.get(head, "string")}


def react_tool_arguments(prompt: str) -> dict[str, dict[str, Any]]:
    """DSPy ReAct's tools and their argument schemas ("(1) name, whose description is …. It takes arguments {…}.")."""
    tools: dict[str, dict[str, Any]] = {}
    for found in _TOOL_ARGS.finditer(prompt):
        start = end = found.end()
        depth = 0
        while end < len(prompt):
            depth += {"{": 1, "}": -1}.get(prompt[end], 0)
            end += 1
            if depth == 0:
                break
        try:
            properties = ast.literal_eval(prompt[start:end])
        except (ValueError, SyntaxError):
            continue
        if isinstance(properties, dict):
            tools[found.group(1)] = {"type": "object", "properties": properties}
    return tools


# -- filling a schema --------------------------------------------------------------------


class Filler:
    """A JSON value that fits a JSON schema, every property filled (optional ones too).

    Enough for the schemas structured outputs and function tools use; not a
    full JSON Schema implementation (no patterns, no conditionals). The turn
    decides the values a loop depends on: `finish` among an enum's values once
    a result arrived, the answer in answer-named strings, and the arguments of
    the tool a ReAct step names.
    """

    def __init__(self, turn: Turn) -> None:
        self.turn = turn

    def fill(self, schema: Any) -> Any:
        return self._value(schema, schema, "", 0)

    def _value(self, schema: Any, root: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > 32:
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return self._value(target, root, name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._choose(schema["enum"])
        for key in ("anyOf", "oneOf", "allOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                typed = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                return self._value((typed or options)[0], root, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self._object(schema, root, depth)
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            if isinstance(schema.get("maxItems"), int):
                count = min(count, schema["maxItems"])
            return [self._value(schema.get("items", {}), root, name, depth + 1) for _ in range(count)]
        if kind in ("string", "any"):
            return self._string(schema, name)
        if kind in ("integer", "number"):
            low = schema.get("minimum", 0)
            if isinstance(schema.get("exclusiveMinimum"), (int, float)):
                low = schema["exclusiveMinimum"] + 1
            return int(low) if kind == "integer" else float(low)
        if kind == "boolean":
            return False
        return None

    def _choose(self, values: list[Any]) -> Any:
        """`finish` (or another loop-ending name) once a result arrived; before, the first other value."""
        enders = [v for v in values if v in FINISHERS]
        others = [v for v in values if v not in FINISHERS]
        if self.turn.results and enders:
            return enders[0]
        return (others or values)[0]

    def _string(self, schema: dict[str, Any], name: str) -> str:
        if name.lower() in ANSWER_NAMES:
            text = answer_line(self.turn)
        else:
            text = "x"
        low, high = int(schema.get("minLength", 1)), schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        return text[:high] if isinstance(high, int) else text

    def _object(self, schema: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        value = {key: self._value(sub, root, key, depth + 1) for key, sub in properties.items()}
        # A ReAct step names a tool and gives its arguments as a free-form object: fill the named tool's.
        for key in [k for k in value if k.endswith("tool_args") and value[k] == {}]:
            chosen = value.get(key[: -len("args")] + "name")
            schemas = react_tool_arguments(self.turn.prompt)
            if isinstance(chosen, str) and chosen in schemas:
                value[key] = self.fill(schemas[chosen])
        return value
