"""`import agentkit` loads only what defining and compiling agents needs.

The runtime (supervisor, decoder, session, transports, tracing), the WebRTC stack (aiortc,
PyAV, numpy), the YAML loader and `jsonschema` (only used to word what is wrong) load on
first use of their names: 123 ms for `import agentkit` on the 2-core machine, 311 ms before. A regression here shows as seconds of startup in every CLI command and
every worker process, so the test pins the modules, not a time.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "aiortc", "av", "numpy", "yaml", "jsonschema", "rich", "opentelemetry", "websockets",
    "docstring_parser", "agentkit.runtime", "agentkit.protocol.decode", "agentkit.session",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_agentkit_leaves_heavy_stacks_unloaded() -> None:
    loaded = _loaded_after("import agentkit")
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_lazy_names_load_on_first_use() -> None:
    loaded = _loaded_after(
        "import agentkit\n"
        "assert agentkit.WebRTCTransport.__name__ == 'WebRTCTransport'\n"
        "assert callable(agentkit.load_definitions)\n"
        "from agentkit import Definitions"
    )
    assert {"aiortc", "yaml"} <= loaded


def test_unknown_name_is_an_attribute_error() -> None:
    import agentkit

    with pytest.raises(AttributeError, match="NoSuchThing"):
        agentkit.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
