"""`@tool`: the strict JSON Schema read off a function, argument checks, binding, bad definitions."""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from agentkit import DefinitionError, FunctionTool, RunContext, ToolArgumentsError, tool
from agentkit.tools import ToolDefinition, ensure_strict_schema


class Unit(Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name.")
    postcode: str | None = None


class Parcel(BaseModel):
    weight_kg: Annotated[float, Field(gt=0)]
    to: Address


def _schema(t: FunctionTool) -> dict[str, Any]:
    return dict(t.parameters)


# --- schema from type hints ----------------------------------------------------------------


def test_plain_type_hints_become_a_strict_object_schema() -> None:
    @tool
    def forecast(
        city: str, days: int, detailed: bool, unit: Unit, mode: Literal["brief", "full"]
    ) -> str:
        """Forecast the weather."""
        return city

    schema = _schema(forecast)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["city", "days", "detailed", "unit", "mode"]
    props = schema["properties"]
    assert props["city"] == {"type": "string"}
    assert props["days"] == {"type": "integer"}
    assert props["detailed"] == {"type": "boolean"}
    assert props["mode"] == {"enum": ["brief", "full"], "type": "string"}
    assert props["unit"] == {"$ref": "#/$defs/Unit"}
    assert schema["$defs"]["Unit"] == {"enum": ["c", "f"], "type": "string"}
    # pydantic's titles are noise for the model and are dropped everywhere.
    assert "title" not in str(schema)


def test_optional_parameters_are_required_but_nullable() -> None:
    @tool
    def search(query: str, limit: int | None = None, page: int = 1) -> str:
        return query

    schema = _schema(search)
    assert schema["required"] == ["query", "limit", "page"]
    assert schema["properties"]["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert schema["properties"]["page"] == {"default": 1, "type": "integer"}


def test_pydantic_model_arguments_are_closed_records_all_the_way_down() -> None:
    @tool
    def ship(parcel: Parcel) -> str:
        return parcel.to.city

    defs = _schema(ship)["$defs"]
    for name in ("Parcel", "Address"):
        assert defs[name]["additionalProperties"] is False
        assert defs[name]["required"] == list(defs[name]["properties"])
    assert defs["Address"]["properties"]["city"]["description"] == "City name."
    assert defs["Address"]["description"] == "A postal address."
    assert defs["Parcel"]["properties"]["weight_kg"]["exclusiveMinimum"] == 0


def test_dict_parameters_stay_maps() -> None:
    # Closing a map with additionalProperties: false would let the model send only {}.
    @tool
    def tag(labels: dict[str, int], extra: dict[str, Any]) -> str:
        return ""

    props = _schema(tag)["properties"]
    assert props["labels"] == {"additionalProperties": {"type": "integer"}, "type": "object"}
    assert props["extra"]["additionalProperties"] is True
    assert tag.parse_arguments({"labels": {"a": 1}, "extra": {"x": [1]}}) == {
        "labels": {"a": 1},
        "extra": {"x": [1]},
    }
    with pytest.raises(ToolArgumentsError, match="labels/a"):
        tag.parse_arguments({"labels": {"a": "one"}, "extra": {}})


def test_default_values_are_copied_untouched() -> None:
    @tool
    def configure(options: dict[str, str] = {"title": "kept"}) -> str:  # noqa: B006
        return ""

    assert _schema(configure)["properties"]["options"]["default"] == {"title": "kept"}


def test_parameter_names_that_shadow_pydantic_attributes_work() -> None:
    @tool
    def query(schema: str, json: bool = False, copy: int = 1) -> str:
        return f"{schema}/{json}/{copy}"

    assert _schema(query)["required"] == ["schema", "json", "copy"]
    args = query.parse_arguments('{"schema": "public", "json": true, "copy": 2}')
    assert query.bind(None, args)() == "public/True/2"


# --- descriptions --------------------------------------------------------------------------


def test_annotated_descriptions_string_and_field() -> None:
    @tool
    def book(
        room: Annotated[str, "The room code, like B-12."],
        people: Annotated[int, Field(description="Head count.", ge=1, le=20)],
    ) -> str:
        return room

    props = _schema(book)["properties"]
    assert props["room"] == {"description": "The room code, like B-12.", "type": "string"}
    assert props["people"] == {
        "description": "Head count.",
        "maximum": 20,
        "minimum": 1,
        "type": "integer",
    }


def test_google_docstring_gives_tool_and_parameter_descriptions() -> None:
    @tool
    def transfer(amount: float, account: str) -> str:
        """Move money between accounts.

        Only between the caller's own accounts.

        Args:
            amount: How much, in euros.
            account: The target account's IBAN.

        Returns:
            A confirmation number.
        """
        return account

    assert transfer.description == (
        "Move money between accounts.\n\nOnly between the caller's own accounts."
    )
    props = _schema(transfer)["properties"]
    assert props["amount"]["description"] == "How much, in euros."
    assert props["account"]["description"] == "The target account's IBAN."


def test_annotated_description_wins_over_the_docstring() -> None:
    @tool
    def f(x: Annotated[int, "from the hint"]) -> None:
        """Do it.

        Args:
            x: from the docstring
        """

    assert _schema(f)["properties"]["x"]["description"] == "from the hint"


def test_name_and_description_overrides() -> None:
    def internal_helper(q: str) -> str:
        """Internal docs the model should not see."""
        return q

    t = tool(internal_helper, name="search_kb", description="Search the knowledge base.")
    assert (t.name, t.description) == ("search_kb", "Search the knowledge base.")
    assert t.definition() == ToolDefinition("search_kb", "Search the knowledge base.", t.parameters)

    @tool(name="renamed")
    def original() -> None:
        pass

    assert original.name == "renamed"
    assert original.description == ""


# --- raw JSON Schema -----------------------------------------------------------------------


def test_raw_json_schema_is_used_verbatim_and_checked() -> None:
    raw = {
        "type": "object",
        "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "required": ["sku"],
    }

    @tool(parameters=raw)
    def stock(**kwargs: Any) -> str:
        return str(kwargs["sku"])

    assert _schema(stock) == raw
    assert stock.args_model is None
    args = stock.parse_arguments('{"sku": "ABC"}')
    assert stock.bind(None, args)() == "ABC"
    with pytest.raises(ToolArgumentsError, match="field 'sku': 'abc' does not match"):
        stock.parse_arguments({"sku": "abc"})


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array"}, "of type 'object'"),
        ({"type": 12}, "not a valid JSON Schema"),
        ({"type": "object", "required": "sku"}, "not a valid JSON Schema"),
    ],
)
def test_bad_raw_schema_is_a_definition_error(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        tool(lambda: None, name="x", parameters=schema)


# --- flags, sync/async ---------------------------------------------------------------------


def test_flags_default_off_and_can_be_set() -> None:
    def f() -> None:
        pass

    plain = tool(f)
    assert (plain.timeout, plain.needs_approval, plain.cancellable) == (None, False, False)
    flagged = tool(f, timeout=2.5, needs_approval=True, cancellable=True)
    assert (flagged.timeout, flagged.needs_approval, flagged.cancellable) == (2.5, True, True)


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_non_positive_timeout_is_a_definition_error(timeout: float) -> None:
    with pytest.raises(DefinitionError, match="timeout must be positive"):
        tool(lambda: None, name="x", timeout=timeout)


async def test_sync_and_async_tools_bind_and_run() -> None:
    @tool
    def add(a: int, b: int) -> int:
        return a + b

    @tool
    async def mul(a: int, b: int) -> int:
        return a * b

    assert not add.is_async
    assert mul.is_async
    assert add.bind(None, {"a": 2, "b": 3})() == 5
    pending = mul.bind(None, {"a": 2, "b": 3})()
    assert inspect.isawaitable(pending)
    assert await pending == 6
    # Calling the tool object calls the function (for the developer's own tests).
    assert add(1, 1) == 2


def test_bind_converts_to_the_declared_python_types() -> None:
    seen: dict[str, Any] = {}

    @tool
    def convert(parcel: Parcel, unit: Unit) -> None:
        seen.update(parcel=parcel, unit=unit)

    args = convert.parse_arguments(
        {
            "parcel": {
                "weight_kg": 1.5,
                "to": {"street": "Main 1", "city": "Oslo", "postcode": None},
            },
            "unit": "f",
        }
    )
    convert.bind(None, args)()
    assert isinstance(seen["parcel"], Parcel) and seen["parcel"].to.city == "Oslo"
    assert seen["unit"] is Unit.FAHRENHEIT


# --- the run context -----------------------------------------------------------------------


class State:
    caller = "Ada"


def test_context_parameter_is_injected_by_type_and_left_out_of_the_schema() -> None:
    @tool
    def whoami(c: RunContext[State], greeting: str) -> str:
        return f"{greeting}, {c.context.caller}"

    assert whoami.context_param == "c"
    assert list(_schema(whoami)["properties"]) == ["greeting"]
    ctx = RunContext(context=State())
    assert whoami.bind(ctx, {"greeting": "Hi"})() == "Hi, Ada"


@pytest.mark.parametrize("variant", ["optional", "annotated", "bare"])
def test_context_parameter_variants(variant: str) -> None:
    def optional(ctx: RunContext[Any] | None, n: int) -> Any:
        return ctx

    def annotated(ctx: Annotated[RunContext[Any], "the run"], n: int) -> Any:
        return ctx

    def bare(ctx: RunContext, n: int) -> Any:  # type: ignore[type-arg]
        return ctx

    fn = {"optional": optional, "annotated": annotated, "bare": bare}[variant]
    t = tool(fn)
    assert t.context_param == "ctx"
    assert _schema(t)["required"] == ["n"]
    ctx = RunContext(context=None)
    assert t.bind(ctx, {"n": 1})() is ctx


# --- argument validation -------------------------------------------------------------------


@tool
def ship(parcel: Parcel, express: bool) -> str:
    return parcel.to.city


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('{"parcel": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("", "missing required field 'parcel'"),
        ({"parcel": {}, "express": True}, "missing required field 'parcel/weight_kg'"),
        (
            {
                "parcel": {"weight_kg": 1, "to": {"street": 5, "city": "x", "postcode": None}},
                "express": True,
            },
            "field 'parcel/to/street': 5 is not of type 'string'",
        ),
        (
            {
                "parcel": {"weight_kg": 0, "to": {"street": "s", "city": "x", "postcode": None}},
                "express": True,
            },
            "field 'parcel/weight_kg': 0 is less than or equal to the minimum",
        ),
        ({"parcel": None, "express": "yes", "spam": 1}, "unexpected field 'spam'"),
    ],
)
def test_argument_errors_name_the_field(arguments: Any, message: str) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        ship.parse_arguments(arguments)
    assert info.value.tool_name == "ship"
    assert message in info.value.message


def test_bind_reports_pydantic_errors_with_the_field() -> None:
    # parse_arguments checks the JSON Schema; bind converts and reports what pydantic adds.
    with pytest.raises(ToolArgumentsError, match="parcel/to: Field required"):
        ship.bind(None, {"parcel": {"weight_kg": 1}, "express": True})


# --- bad definitions -----------------------------------------------------------------------


def _no_hint(x):  # type: ignore[no-untyped-def]
    return x


def _star_args(*values: int) -> None:
    pass


def _star_kwargs(**values: int) -> None:
    pass


def _positional_only(x: int, /) -> None:
    pass


def _two_contexts(a: RunContext[Any], b: RunContext[Any]) -> None:
    pass


def _unresolvable(x: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
    pass


class Opaque:
    pass


def _unsupported_type(x: Opaque) -> None:
    pass


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_no_hint, "'x' needs a type hint"),
        (_star_args, r"\*args/\*\*kwargs"),
        (_star_kwargs, r"\*args/\*\*kwargs"),
        (_positional_only, "positional-only"),
        (_two_contexts, "only one RunContext"),
        (_unresolvable, "cannot resolve its type hints"),
        (_unsupported_type, "cannot build a JSON Schema"),
        (lambda: None, "tool name '<lambda>'"),
    ],
)
def test_bad_definitions_raise_definition_error(fn: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        tool(fn)


@pytest.mark.parametrize("name", ["has space", "x" * 65, "dots.not.allowed", "ünicode"])
def test_bad_tool_names(name: str) -> None:
    with pytest.raises(DefinitionError, match="must be 1-64 letters"):
        tool(lambda: None, name=name)


def test_non_callable_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="needs a function"):
        tool(42)  # type: ignore[call-overload]


# --- ensure_strict_schema directly ---------------------------------------------------------


def test_ensure_strict_schema_closes_records_and_keeps_maps() -> None:
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {
            "title": {"type": "string", "title": "Title"},  # a property *named* title stays
            "nested": {"type": "object", "properties": {"a": {"type": "integer"}}},
            "anything": {"type": "object"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "fixed": {"const": {"title": "data, not a schema"}},
        },
        "required": ["title"],
    }
    strict = ensure_strict_schema(schema)
    assert "title" not in strict
    assert strict["required"] == ["title", "nested", "anything", "counts", "maybe", "fixed"]
    props = strict["properties"]
    assert props["title"] == {"type": "string"}
    assert props["nested"]["additionalProperties"] is False
    assert props["nested"]["required"] == ["a"]
    assert props["anything"]["additionalProperties"] is False
    assert props["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert "default" not in props["maybe"]
    assert props["fixed"] == {"const": {"title": "data, not a schema"}}
    assert schema["properties"]["title"] == {"type": "string", "title": "Title"}  # not mutated
