"""Function tools: a Python callable plus the strict JSON Schema the model sees.

`@tool` reads the schema off the function: type hints (pydantic models, enums, literals,
`Annotated[..., "description"]` or `Field(description=...)`) and a Google-style docstring for
the descriptions. A raw JSON Schema may be given instead. A parameter annotated `RunContext`
is injected by the runtime and left out of the schema.

The schema is made *strict* (every property required, `additionalProperties: false`), so the
model fills in everything and the runtime can validate the arguments before the tool runs.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    Protocol,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

import jsonschema_rs
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from .context import RunContext
from .errors import DefinitionError, ToolArgumentsError

if TYPE_CHECKING:
    import docstring_parser
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaValidationError

__all__ = ["FunctionTool", "ToolDefinition", "ensure_strict_schema", "tool"]
__all__ = [
    "FunctionTool",
    "HostedMCPDefinition",
    "HostedMCPTool",
    "MCPApproval",
    "ToolDefinition",
    "ToolSource",
    "ensure_strict_schema",
    "tool",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolDefinition:
    """The neutral form of a tool: what every dialect's payload is rendered from."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class FunctionTool:
    """A tool the model may call. Build one with `@tool` or `tool(...)`.

    Attributes:
        name: The function name the model calls (`^[A-Za-z0-9_-]{1,64}$`).
        description: What the tool does, for the model.
        parameters: The strict JSON Schema of the arguments.
        func: The Python function behind it, sync or async.
        timeout: Seconds the call may take before the model is told it timed out
            (`None`: the runner's default).
        needs_approval: Park each call until the app approves or rejects it.
        cancellable: Cancel a running call when the caller interrupts the response.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    func: Callable[..., Any]
    timeout: float | None = None
    needs_approval: bool = False
    cancellable: bool = False
    context_param: str | None = None
    args_model: type[BaseModel] | None = field(default=None, repr=False)
    # Built on the first invalid call (or every call, when `_check` is None).
    _validator: Draft202012Validator | None = field(init=False, repr=False, compare=False)
    # The hot path: a compiled validator (Rust) answers "valid?" in under a microsecond,
    # where `jsonschema` takes 12-60 µs per call. `jsonschema` stays the authority for what
    # is wrong, on the rare invalid call, so the model reads the same messages.
    _check: Callable[[Any], bool] | None = field(init=False, repr=False, compare=False)
    _is_async: bool = field(init=False, repr=False, compare=False)
    # (attribute, keyword) per field of `args_model`, read once rather than per call.
    _fields: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise DefinitionError(
                f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-'"
            )
        if self.timeout is not None and self.timeout <= 0:
            raise DefinitionError(f"tool {self.name!r}: timeout must be positive, got {self.timeout}")
        if not jsonschema_rs.meta.is_valid(dict(self.parameters)):
            raise DefinitionError(
                f"tool {self.name!r}: parameters is not a valid JSON Schema: "
                f"{_schema_problem(self.parameters)}"
            )
        if self.parameters.get("type") != "object":
            raise DefinitionError(f"tool {self.name!r}: parameters must be a JSON Schema of type 'object'")
        object.__setattr__(self, "_validator", None)
        object.__setattr__(self, "_check", _compiled_check(self.parameters))
        object.__setattr__(self, "_is_async", inspect.iscoroutinefunction(self.func))
        model_fields = self.args_model.model_fields if self.args_model is not None else {}
        object.__setattr__(
            self, "_fields", tuple((name, info.alias or name) for name, info in model_fields.items())
        )

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function (else it runs in a worker thread)."""
        return self._is_async

    def definition(self) -> ToolDefinition:
        """The neutral form the compiler renders."""
        return ToolDefinition(self.name, self.description, self.parameters)

    def parse_arguments(self, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
        """Parse the model's JSON arguments and check them against the schema.

        Raises:
            ToolArgumentsError: not JSON, not an object, or not valid for the schema; the
                message names the offending field so the model can correct itself.
        """
        if isinstance(arguments, str):
            try:
                parsed = orjson.loads(arguments) if arguments.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise ToolArgumentsError(self.name, f"arguments are not valid JSON ({exc})") from exc
        else:
            parsed = dict(arguments)
        if not isinstance(parsed, dict):
            raise ToolArgumentsError(self.name, "arguments must be a JSON object")
        check = self._check
        if check is not None and check(parsed):
            return parsed
        validator = self._validator
        if validator is None:
            from jsonschema import Draft202012Validator

            validator = Draft202012Validator(dict(self.parameters))
            object.__setattr__(self, "_validator", validator)
        errors = sorted(validator.iter_errors(parsed), key=lambda e: list(e.path))
        if errors:
            raise ToolArgumentsError(self.name, "; ".join(_describe(e) for e in errors[:5]))
        return parsed

    def bind(self, ctx: RunContext[Any] | None, arguments: Mapping[str, Any]) -> Callable[[], Any]:
        """A zero-argument callable that runs the tool with these (validated) arguments.

        Arguments are converted to the declared Python types (pydantic models, enums, ...)
        first. For an async tool, calling the result returns a coroutine.
        """
        kwargs: dict[str, Any]
        if self.args_model is None:
            kwargs = dict(arguments)
        elif not self._fields:
            kwargs = {}  # nothing to convert (a strict schema allows only `{}`)
        else:
            try:
                model = self.args_model.model_validate(
                    arguments if isinstance(arguments, dict) else dict(arguments)
                )
            except ValidationError as exc:
                raise ToolArgumentsError(self.name, _first_pydantic_error(exc)) from exc
            kwargs = {keyword: getattr(model, name) for name, keyword in self._fields}
        if self.context_param is not None:
            kwargs[self.context_param] = ctx
        return functools.partial(self.func, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (handy in the developer's own tests)."""
        return self.func(*args, **kwargs)


# `jsonschema` (pure Python, slow to import) is loaded only to word what is wrong: with an
# invalid schema at definition time, or on an invalid call. Its messages are the ones the
# developer and the model read.
def _schema_problem(schema: Mapping[str, Any]) -> str:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        return exc.message
    return "rejected by the JSON Schema 2020-12 meta-schema"


def _compiled_check(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """`jsonschema_rs`'s `is_valid` for `schema`, or None when it cannot compile a schema
    that `jsonschema` accepted (then `jsonschema` alone decides, just slower)."""
    try:
        return jsonschema_rs.Draft202012Validator(dict(schema)).is_valid
    except ValueError:  # jsonschema_rs.ValidationError is one
        return None


def _first_pydantic_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = "/".join(str(p) for p in err["loc"]) or "(root)"
    return f"{loc}: {err['msg']}"


@overload
def tool(func: F, /) -> FunctionTool: ...


@overload
def tool(
    func: F,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
    cancellable: bool = False,
) -> FunctionTool: ...


@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
    cancellable: bool = False,
) -> Callable[[F], FunctionTool]: ...


def tool(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    needs_approval: bool = False,
    cancellable: bool = False,
) -> FunctionTool | Callable[[F], FunctionTool]:
    """Turn a function into a `FunctionTool`: `@tool`, `@tool(timeout=5)` or `tool(fn, name=...)`.

    Args:
        func: The function, sync or async.
        name: The name the model sees; defaults to the function's name.
        description: Defaults to the docstring's summary and body.
        parameters: A raw JSON Schema to use instead of the one read off the signature; the
            function is then called with the arguments as keyword arguments.
        timeout: Seconds before the call is abandoned and the model told so.
        needs_approval: Ask the app before each call.
        cancellable: Cancel the call if the caller interrupts.
    """

    def build(fn: F) -> FunctionTool:
        return _build_tool(
            fn,
            name=name,
            description=description,
            parameters=parameters,
            timeout=timeout,
            needs_approval=needs_approval,
            cancellable=cancellable,
        )

    if func is None:
        return build
    return build(func)


def _build_tool(
    fn: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    parameters: Mapping[str, Any] | None,
    timeout: float | None,
    needs_approval: bool,
    cancellable: bool,
) -> FunctionTool:
    if not callable(fn):
        raise DefinitionError(f"@tool needs a function, got {type(fn).__name__}")
    tool_name: str = name or getattr(fn, "__name__", None) or ""
    import docstring_parser  # only when a tool is defined from a function

    doc = docstring_parser.parse(inspect.getdoc(fn) or "")
    doc_description = "\n\n".join(
        part for part in (doc.short_description, doc.long_description) if part
    )
    context_param = _context_parameter(fn)
    args_model: type[BaseModel] | None = None
    if parameters is None:
        args_model = _arguments_model(fn, tool_name, context_param, doc)
        schema = ensure_strict_schema(args_model.model_json_schema())
    else:
        schema = dict(parameters)
    return FunctionTool(
        name=tool_name,
        description=description if description is not None else doc_description,
        parameters=schema,
        func=fn,
        timeout=timeout,
        needs_approval=needs_approval,
        cancellable=cancellable,
        context_param=context_param,
        args_model=args_model,
    )


def _is_context_annotation(annotation: Any) -> bool:
    """`RunContext`, `RunContext[T]`, `RunContext | None` or an `Annotated` of one of them."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_context_annotation(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(annotation) if a is not type(None)]
        return len(members) == 1 and _is_context_annotation(members[0])
    target = origin or annotation
    return isinstance(target, type) and issubclass(target, RunContext)


def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise DefinitionError(
            f"tool {getattr(fn, '__name__', fn)!r}: cannot resolve its type hints ({exc})"
        ) from exc


def _context_parameter(fn: Callable[..., Any]) -> str | None:
    hints = _resolved_hints(fn)
    found = [p for p, ann in hints.items() if p != "return" and _is_context_annotation(ann)]
    if len(found) > 1:
        raise DefinitionError(f"tool {fn.__name__!r}: only one RunContext parameter is allowed")
    return found[0] if found else None


def _arguments_model(
    fn: Callable[..., Any],
    tool_name: str,
    context_param: str | None,
    doc: docstring_parser.Docstring,
) -> type[BaseModel]:
    hints = _resolved_hints(fn)
    doc_params = {p.arg_name: p.description for p in doc.params if p.description}
    fields: dict[str, Any] = {}
    param_names = set(inspect.signature(fn).parameters)
    for param in inspect.signature(fn).parameters.values():
        if param.name == context_param:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise DefinitionError(
                f"tool {tool_name!r}: *args/**kwargs cannot be described to the model; "
                "name each parameter or pass parameters= a JSON Schema"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise DefinitionError(
                f"tool {tool_name!r}: parameter {param.name!r} is positional-only; "
                "tools are called with keyword arguments"
            )
        annotation = hints.get(param.name)
        if annotation is None:
            raise DefinitionError(
                f"tool {tool_name!r}: parameter {param.name!r} needs a type hint "
                "(the model is told the type of every argument)"
            )
        annotation, description = _split_annotated_description(annotation)
        description = description or doc_params.get(param.name)
        default = ... if param.default is param.empty else param.default
        # `schema`, `json`, `copy`... would shadow BaseModel attributes (a pydantic warning,
        # an error under -W error): store such a field under another name and keep the
        # parameter's name as its alias, which the schema and validation use.
        field_name = param.name
        while hasattr(BaseModel, field_name) or (
            field_name != param.name and field_name in param_names
        ):
            field_name += "_"
        fields[field_name] = (
            annotation,
            Field(default, description=description, alias=param.name),
        )
    try:
        model = create_model(
            f"{tool_name}_arguments",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )
        model.model_json_schema()
    except Exception as exc:
        raise _schema_error(tool_name, fields, exc) from exc
    return cast(type[BaseModel], model)


def _schema_error(tool_name: str, fields: dict[str, Any], exc: Exception) -> DefinitionError:
    """One line naming the parameter whose type has no JSON Schema (pydantic's own message
    runs to three paragraphs about its internals)."""
    prefix = f"tool {tool_name!r}: cannot build a JSON Schema from its signature"
    for field_name, definition in fields.items():
        annotation, info = definition
        try:
            create_model("probe", **{field_name: definition}).model_json_schema()
        except Exception:
            shown = (
                f"{annotation.__module__}.{annotation.__qualname__}"
                if isinstance(annotation, type) and annotation.__module__ != "builtins"
                else repr(annotation)
            )
            return DefinitionError(
                f"{prefix}: parameter {info.alias!r} has type {shown}, which has no JSON "
                "Schema (use a JSON type or a pydantic model, or pass parameters=)"
            )
    lines = str(exc).strip().splitlines()
    return DefinitionError(f"{prefix} ({lines[0] if lines else type(exc).__name__})")


def _split_annotated_description(annotation: Any) -> tuple[Any, str | None]:
    """`Annotated[int, "the count"]` → (`int`, "the count"); other metadata is kept."""
    if get_origin(annotation) is not Annotated:
        return annotation, None
    base, *metadata = get_args(annotation)
    description: str | None = None
    kept: list[Any] = []
    for item in metadata:
        if isinstance(item, str) and description is None:
            description = item
        else:
            if isinstance(item, FieldInfo) and item.description and description is None:
                description = item.description
            kept.append(item)
    if kept:
        return Annotated[(base, *kept)], description
    return base, description


def ensure_strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Make a JSON Schema strict: every record closed and every property required.

    A record is an object schema with `properties` (a pydantic model, the arguments): it gets
    `additionalProperties: false` and all its properties in `required`. A map (`dict[str, int]`,
    an object whose `additionalProperties` is a schema or `true`) stays a map, otherwise the
    model could only ever send `{}` for it.

    Also drops pydantic's `title` noise so payloads stay small. Values (`default`, `const`,
    `enum`, `examples`) are copied untouched. Optional parameters stay optional in meaning
    because their type admits `null`.
    """
    return cast(dict[str, Any], _strict(dict(schema), top=True))


# Keywords whose value is a mapping of name → subschema.
_SCHEMA_MAPS = frozenset(
    {"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"}
)
# Keywords whose value is instance data, not a schema: never rewritten.
_DATA_KEYWORDS = frozenset({"default", "const", "enum", "examples"})


def _strict(node: Any, *, top: bool = False) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key in _DATA_KEYWORDS:
            out[key] = copy.deepcopy(value)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: _strict(v) for k, v in value.items()}
        else:
            out[key] = _strict(value)
    is_map = "properties" not in out and out.get("additionalProperties", False) is not False
    if top or (not is_map and (out.get("type") == "object" or "properties" in out)):
        props = out.setdefault("properties", {})
        out["additionalProperties"] = False
        out["required"] = list(props)
        if top:
            out["type"] = "object"
    return out


_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_UNEXPECTED = re.compile(r"\((.+) (?:was|were) unexpected\)")


def _describe(error: SchemaValidationError) -> str:
    """One schema error in the words a model (and a person) acts on: which field, what is
    wrong with it."""
    where = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and (match := _REQUIRED.match(error.message)):
        field = f"{where}/{match.group(1)}" if where else match.group(1)
        return f"missing required field '{field}'"
    if error.validator == "additionalProperties" and (match := _UNEXPECTED.search(error.message)):
        return f"unexpected field{'s' if ',' in match.group(1) else ''} {match.group(1)}" + (
            f" in '{where}'" if where else ""
        )
    return f"field '{where}': {error.message}" if where else error.message


# --- MCP: servers the service calls (hosted) and servers agentkit calls (tool sources) -------

_LABEL_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

MCPApproval = Literal["always", "never"] | tuple[str, ...]
"""Which tools of a hosted MCP server wait for the app's approval: all, none, or these names."""


class ToolSource(Protocol):
    """Something that offers function tools it discovers at run time: a local MCP server
    (`agentkit.mcp`). An agent lists its sources in `mcp_servers`; their tools are offered
    and run like the agent's own."""

    @property
    def name(self) -> str:
        """The source's name (in errors and traces)."""
        ...

    def tools(self) -> Sequence[FunctionTool]:
        """The tools offered now (the cached list; empty before the source connects)."""
        ...


@dataclass(frozen=True)
class HostedMCPDefinition:
    """The neutral form of a hosted MCP server, with its authorization resolved: what the
    compiler renders as a GA `{"type": "mcp", ...}` tool. The token is left out of `repr`."""

    server_label: str
    server_url: str
    allowed_tools: tuple[str, ...] | None
    require_approval: MCPApproval
    headers: Mapping[str, str]
    authorization: str | None = field(default=None, repr=False)
    server_description: str | None = None


@dataclass(frozen=True, eq=False)
class HostedMCPTool:
    """A remote MCP server the *service* connects to and calls (GA sessions only).

    The model calls its tools; the service runs them and reports `mcp_call` items. Calls
    that need approval come back as approval requests, answered with the session's
    `approve()` / `reject()` like function tools.

    Attributes:
        server_label: How the model and the events name the server (`^[A-Za-z0-9_-]{1,64}$`).
        server_url: The server's streamable-HTTP URL.
        allowed_tools: Offer only these of its tools (`None`: all).
        require_approval: `"always"` (the default, as the service's), `"never"`, or the
            names of the tools that need it.
        headers: HTTP headers the service sends to the server.
        authorization_env: The environment variable holding an OAuth token for the server;
            read when the session is compiled, sent as `authorization`, never logged.
        server_description: Tells the model what the server is for.
    """

    server_label: str
    server_url: str
    allowed_tools: tuple[str, ...] | None = None
    require_approval: MCPApproval = "always"
    headers: Mapping[str, str] = field(default_factory=dict)
    authorization_env: str | None = None
    server_description: str | None = None

    def __post_init__(self) -> None:
        if not _LABEL_RE.match(self.server_label):
            raise DefinitionError(
                f"MCP server label {self.server_label!r} must be 1-64 letters, digits, '_' or '-'"
            )
        if not self.server_url.startswith(("http://", "https://")):
            raise DefinitionError(
                f"MCP server {self.server_label!r}: server_url must be an http(s) URL, "
                f"got {self.server_url!r}"
            )
        if self.allowed_tools is not None:
            object.__setattr__(self, "allowed_tools", tuple(self.allowed_tools))
        if not isinstance(self.require_approval, str):
            object.__setattr__(self, "require_approval", tuple(self.require_approval))
        elif self.require_approval not in ("always", "never"):
            raise DefinitionError(
                f"MCP server {self.server_label!r}: require_approval must be 'always', 'never' "
                f"or a list of tool names, got {self.require_approval!r}"
            )
        object.__setattr__(self, "headers", dict(self.headers))

    def definition(self, env: Mapping[str, str] | None = None) -> HostedMCPDefinition:
        """The neutral form, with the authorization read from `env` (default: `os.environ`).

        Raises:
            DefinitionError: `authorization_env` names a variable that is not set.
        """
        token: str | None = None
        if self.authorization_env is not None:
            source = os.environ if env is None else env
            token = source.get(self.authorization_env)
            if not token:
                raise DefinitionError(
                    f"MCP server {self.server_label!r}: the environment variable "
                    f"{self.authorization_env!r} (its authorization) is not set"
                )
        return HostedMCPDefinition(
            self.server_label,
            self.server_url,
            self.allowed_tools,
            self.require_approval,
            dict(self.headers),
            token,
            self.server_description,
        )
