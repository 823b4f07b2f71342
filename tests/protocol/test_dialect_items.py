"""Items, responses and `response.create` options between the dialects."""

from __future__ import annotations

import pytest

from agentkit.errors import CompileError
from agentkit.protocol.dialect_items import (
    item_beta_to_ga,
    item_ga_to_beta,
    response_params_beta_to_ga,
    response_params_ga_to_beta,
)


def test_items() -> None:
    beta = {"type": "message", "role": "assistant", "content": [{"type": "audio", "transcript": "hi"}, {"type": "text", "text": "yo"}]}
    ga = item_beta_to_ga(beta)
    assert [p["type"] for p in ga["content"]] == ["output_audio", "output_text"]
    assert item_ga_to_beta(ga) == beta
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    assert item_beta_to_ga(user) == user == item_ga_to_beta(user)
    with pytest.raises(CompileError, match="images"):
        item_ga_to_beta({"type": "message", "role": "user", "content": [{"type": "input_image"}]})
    with pytest.raises(CompileError) as info:
        item_ga_to_beta({"type": "mcp_call"})
    assert info.value.field == "item.type"


def test_response_params() -> None:
    ga = {"output_modalities": ["text"], "audio": {"output": {"voice": "ash", "format": {"type": "audio/pcma"}}}, "max_output_tokens": 5, "conversation": "none", "metadata": {"k": "v"}}
    beta = response_params_ga_to_beta(ga)
    assert beta == {"modalities": ["text"], "voice": "ash", "output_audio_format": "g711_alaw", "max_response_output_tokens": 5, "conversation": "none", "metadata": {"k": "v"}}
    assert response_params_beta_to_ga(beta) == ga
    with pytest.raises(CompileError, match="temperature"):
        response_params_beta_to_ga({"temperature": 0.7})
