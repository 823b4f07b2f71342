"""`loader.importer`: `module:attribute` paths next to the definition file, and tool plugins
through the `agentkit.tools` entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit import ConfigError
from agentkit.errors import DefinitionError
from agentkit.loader import TOOL_ENTRY_POINT_GROUP, Definitions, load_definitions
from agentkit.loader.importer import Importer, describe_object, tool_package
from agentkit.loader.yaml_source import SourceDocument, parse_yaml

DATA = Path(__file__).parents[1] / "data"


def test_full_file_plugins(full: Definitions) -> None:
    escalate = full.tools["escalate"]
    assert escalate.name == "escalate"  # the YAML key is the name the model sees
    assert escalate.needs_approval
    assert escalate.func.__module__ == "agentkit_helpdesk.tools"
    # From the `helpdesk` package: picked by the key, or by `tool:`.
    assert full.tools["ticket_status"].func is full.tools["status_lookup"].func
    assert full.tools["status_lookup"].name == "status_lookup"


def test_modules_next_to_different_files_do_not_collide(full: Definitions) -> None:
    other = load_definitions(DATA / "good" / "other" / "agents.yaml")
    assert other.starting_agent.name == "only"  # the only agent starts
    assert other.tools["lookup_order"].func("7") == "other:7"
    assert full.tools["lookup_order"].func.__module__ != other.tools["lookup_order"].func.__module__


# -- the importer on its own ----------------------------------------------------------------


BAD = DATA / "bad_yaml"


def source(text: str = "function: x\n") -> SourceDocument:
    return parse_yaml(text, filename="agents.yaml", env={})


def test_a_failing_import_points_at_the_users_line() -> None:
    with pytest.raises(ConfigError) as info:
        Importer(BAD).resolve(source(), ("function",), "broken:lookup_order")
    detail = info.value.detail
    assert "importing 'broken' failed: KeyError: 'database_url'" in detail
    assert f"({BAD / 'broken.py'}:4)" in detail  # the user's file and line, not importlib's


def test_a_syntax_error_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text("def lookup(:\n    pass\n")
    with pytest.raises(ConfigError) as info:
        Importer(tmp_path).resolve(source(), ("function",), "typo:lookup")
    assert "importing 'typo' failed: SyntaxError: " in info.value.detail
    assert f"({tmp_path / 'typo.py'}:1)" in info.value.detail


def test_dotted_attributes_resolve_inside_the_module(tmp_path: Path) -> None:
    (tmp_path / "nested.py").write_text("class Tools:\n    class Inner:\n        value = 7\n")
    importer = Importer(tmp_path)
    assert importer.resolve(source(), ("function",), "nested:Tools.Inner.value") == 7
    with pytest.raises(ConfigError, match=r"nested:Tools has no attribute 'Inne' \(did you mean 'Inner'\?\)"):
        importer.resolve(source(), ("function",), "nested:Tools.Inne")


def test_an_unknown_plugin_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as info:
        Importer(DATA).entry_point(source(), ("plugin",), "nope")
    assert f"no plugin named 'nope' in entry-point group {TOOL_ENTRY_POINT_GROUP!r}" in info.value.detail
    assert info.value.expected is not None and "helpdesk" in info.value.expected


def test_a_plugin_package_is_its_tools_by_name() -> None:
    package = tool_package(Importer(DATA).entry_point(source(), ("plugin",), "helpdesk"))
    assert package is not None and "ticket_status" in package
    assert all(name == t.name for name, t in package.items())
    assert tool_package(lambda: None) is None  # a single tool is not a package
    with pytest.raises(DefinitionError, match="FunctionTool objects only"):
        tool_package([print])


@pytest.mark.parametrize(("value", "shown"), [
    (int, "the class int"),
    (json, "the module json"),
    (42, "the int value 42"),
    ("x" * 50, "the str value '" + "x" * 36 + "..."),
])
def test_objects_are_described_by_what_they_are(value: object, shown: str) -> None:
    assert describe_object(value) == shown
