"""`agentkit serve` mounts the phone routes (Twilio, SIP) when their secret is in the
environment, on a μ-law runner of the same agents, and not otherwise."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from agentkit.cli.serve import configure_serve, phone_routes
from agentkit.cli.target import load_target
from agentkit.serve import Provider, create_app
from agentkit.telephony.signatures import sign_twilio

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customer_service" / "agents.yaml"
PROVIDER = Provider("ws://127.0.0.1:9/v1/realtime?model=gpt-realtime", "sk-local", "gpt-realtime")


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_serve(parser)
    return parser.parse_args([str(EXAMPLE), *extra])


def _app(env: dict[str, str], *extra: str) -> tuple[Any, Any]:
    target = load_target(str(EXAMPLE))
    calls, routes = phone_routes(_args(*extra), target, PROVIDER, env)
    runner = target.runner("ga")
    app = create_app(runner, PROVIDER, routes=routes)
    return calls, app


def test_twilio_routes_are_served_with_the_token_and_answer_a_signed_call() -> None:
    env = {"TWILIO_AUTH_TOKEN": "tw-secret-token"}
    calls, app = _app(env, "--public-url", "https://voice.example.com")
    assert calls is not None
    params = [("CallSid", "CA123"), ("From", "+15551234567")]
    url = "https://voice.example.com/twilio/voice"
    with TestClient(app, base_url="https://voice.example.com") as client:
        signed = client.post(
            "/twilio/voice", data=dict(params),
            headers={"X-Twilio-Signature": sign_twilio("tw-secret-token", url, params)},
        )
        forged = client.post("/twilio/voice", data=dict(params), headers={"X-Twilio-Signature": "bad"})
    assert signed.status_code == 200
    assert '<Stream url="wss://voice.example.com/twilio/media"' in signed.text
    assert forged.status_code == 403
    assert "tw-secret-token" not in signed.text + forged.text


def test_no_phone_routes_without_a_secret() -> None:
    calls, app = _app({})
    assert calls is None
    with TestClient(app) as client:
        assert client.post("/twilio/voice").status_code == 404
        assert client.post("/sip/webhook").status_code == 404
