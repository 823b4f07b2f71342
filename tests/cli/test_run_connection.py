"""`agentkit run`'s endpoint choice: `--local`, `--url`, Azure, OpenAI, else the local server;
and the URL as shown to people."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit.cli.connection import choose_connection, redact
from agentkit.errors import UserError


def connection(env: dict[str, str], **options: Any) -> Any:
    return choose_connection(model="gpt-realtime", dialect=options.pop("dialect", "ga"), env=env, **options)


def test_nothing_configured_means_the_local_server() -> None:
    assert connection({}).kind == "local"
    assert connection({"OPENAI_API_KEY": "sk-x"}, local=True).kind == "local"


def test_openai_key_connects_to_openai() -> None:
    chosen = connection({"OPENAI_API_KEY": "sk-x"})
    assert (chosen.kind, chosen.api_key) == ("openai", "sk-x")
    assert chosen.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"


def test_url_wins_and_gets_the_model() -> None:
    chosen = connection({"OPENAI_API_KEY": "sk-x"}, url="ws://127.0.0.1:8765/v1/realtime")
    assert (chosen.kind, chosen.url, chosen.api_key) == (
        "url", "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime", "sk-x",
    )
    assert connection({}, url="http://h/v1/realtime?model=m").url == "ws://h/v1/realtime?model=m"
    with pytest.raises(UserError, match="ws:// or wss://"):
        connection({}, url="ftp://h")


@pytest.mark.parametrize(("dialect", "url"), [
    ("ga", "wss://shop.openai.azure.com/openai/v1/realtime?model=rt-prod"),
    ("beta", "wss://shop.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=rt-prod"),
])
def test_azure_settings_connect_to_the_deployment(dialect: str, url: str) -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://shop.openai.azure.com/",
        "AZURE_OPENAI_API_KEY": "az-key",
        "OPENAI_API_KEY": "sk-x",
    }
    chosen = connection(env, azure_deployment="rt-prod", dialect=dialect)
    assert (chosen.kind, chosen.url, chosen.api_key) == ("azure", url, None)
    assert dict(chosen.headers) == {"api-key": "az-key"}
    # Without --azure-deployment the model name is the deployment.
    assert connection(env).url.endswith("model=gpt-realtime")


def test_azure_deployment_without_credentials_is_a_user_error() -> None:
    with pytest.raises(UserError, match="AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY"):
        connection({}, azure_deployment="rt-prod")


def test_query_secrets_are_redacted_from_shown_urls() -> None:
    shown = redact("wss://shop.openai.azure.com/openai/realtime?api-key=az-secret&deployment=d")
    assert "az-secret" not in shown
    assert shown == "wss://shop.openai.azure.com/openai/realtime?…"
    plain = "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime"
    assert redact(plain) == plain
