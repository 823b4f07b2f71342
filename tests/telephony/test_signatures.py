"""The two signature schemes, checked against the `openai` package's own verifier (standard
webhooks) and against tampering (Twilio)."""

from __future__ import annotations

import time

import openai
import pytest

from agentkit.telephony import WebhookSignatureError, sign_twilio, sign_webhook, verify_webhook
from agentkit.telephony.signatures import twilio_signature_matches

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtcGhvbmUtdGVzdHMtMTIzNDU2Nzg="
BODY = b'{"object":"event","id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"call_id":"rtc_1","sip_headers":[]}}'


def _openai_accepts(body: bytes, headers: dict[str, str]) -> bool:
    client = openai.OpenAI(api_key="sk-test", webhook_secret=SECRET)
    try:
        client.webhooks.verify_signature(body, headers)
    except openai.InvalidWebhookSignatureError:
        return False
    return True


def _ours_accepts(body: bytes, headers: dict[str, str]) -> bool:
    try:
        verify_webhook(SECRET, headers, body, now=time.time())
    except WebhookSignatureError:
        return False
    return True


@pytest.mark.parametrize(
    ("case", "body", "age_s", "secret"),
    [
        ("genuine", BODY, 0, SECRET),
        ("tampered body", BODY.replace(b"rtc_1", b"rtc_2"), 0, SECRET),
        ("another secret", BODY, 0, "whsec_" + "b3RoZXItc2VjcmV0LTEyMzQ1Ng=="),
        ("replayed 10 min later", BODY, 600, SECRET),
        ("from the future", BODY, -600, SECRET),
    ],
)
def test_standard_webhooks_agree_with_the_openai_package(case: str, body: bytes, age_s: int, secret: str) -> None:
    headers = sign_webhook(secret, "wh_1", int(time.time()) - age_s, BODY)
    assert _ours_accepts(body, headers) == _openai_accepts(body, headers) == (case == "genuine")


def test_a_webhook_without_its_headers_is_refused_with_the_reason() -> None:
    headers = sign_webhook(SECRET, "wh_1", int(time.time()), BODY)
    del headers["webhook-signature"]
    with pytest.raises(WebhookSignatureError, match="missing"):
        verify_webhook(SECRET, headers, BODY, now=time.time())
    stale = sign_webhook(SECRET, "wh_1", int(time.time()) - 301, BODY)
    with pytest.raises(WebhookSignatureError, match="possible replay"):
        verify_webhook(SECRET, stale, BODY, now=time.time())


def test_twilio_signatures_cover_the_url_and_every_parameter() -> None:
    url = "https://voice.example.com/twilio/voice"
    params = [("To", "+14155550123"), ("CallSid", "CA1"), ("From", "+14155550100")]
    signature = sign_twilio("token", url, params)
    assert twilio_signature_matches("token", url, list(reversed(params)), signature)  # order-free
    assert not twilio_signature_matches("token", url + "?x=1", params, signature)
    assert not twilio_signature_matches("token", url, [*params[:2], ("From", "+1999")], signature)
    assert not twilio_signature_matches("other", url, params, signature)
    assert not twilio_signature_matches("token", url, params, None)
