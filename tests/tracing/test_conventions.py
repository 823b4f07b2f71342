"""The attribute names, checked against the installed semantic conventions."""

from __future__ import annotations

from agentkit import tracing


def test_semconv_names_match_the_installed_conventions() -> None:
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
    from opentelemetry.semconv.attributes import error_attributes

    ours = {name: getattr(tracing, name) for name in dir(tracing) if name.startswith("GEN_AI_")}
    assert len(ours) == 16
    for name, value in ours.items():
        assert getattr(g, name) == value, name
    assert tracing.ERROR_TYPE == error_attributes.ERROR_TYPE
    operations = {v.value for v in g.GenAiOperationNameValues}
    assert {"invoke_agent", "execute_tool", "generate_content"} <= operations
    assert "openai" in {v.value for v in g.GenAiProviderNameValues}
    assert "speech" in {v.value for v in g.GenAiOutputTypeValues}
