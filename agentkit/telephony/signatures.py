"""Request signatures of the two phone networks: Twilio's, and the standard webhooks OpenAI
signs `realtime.call.incoming` with. Both sides of each scheme are here (the local server
signs what the bridge checks), with `hmac`/`hashlib` only: no SDK.

- **Twilio** (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the account's auth
  token, over the full URL Twilio requested followed by each POST parameter's name and value,
  sorted by name.
- **Standard webhooks** (`webhook-id`, `webhook-timestamp`, `webhook-signature`): the
  signature header holds space-separated `v1,<base64>` values; each is base64 of
  HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the base64 secret after `whsec_`
  (a secret without the prefix is used as its UTF-8 bytes, as the `openai` package does).
  A timestamp more than `tolerance_s` away from now is refused, so a captured request cannot
  be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from ..errors import AgentKitError, UserError

__all__ = [
    "WEBHOOK_TOLERANCE_S",
    "WebhookSignatureError",
    "sign_twilio",
    "sign_webhook",
    "twilio_signature_matches",
    "verify_webhook",
]

WEBHOOK_TOLERANCE_S = 300
"""How far a webhook's timestamp may be from now (seconds), as the `openai` package checks."""


class WebhookSignatureError(AgentKitError):
    """A webhook whose signature headers are missing, malformed, stale or wrong (the
    endpoint answers it with a 401)."""


def sign_twilio(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` Twilio sends for a POST of `params` to `url`."""
    data = url + "".join(name + value for name, value in sorted(params, key=lambda p: p[0]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_matches(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """Whether `signature` is Twilio's for `params` POSTed to `url` (constant-time)."""
    if not signature:
        return False
    return hmac.compare_digest(sign_twilio(auth_token, url, params), signature)


def _secret_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret[6:], validate=True)
        except binascii.Error as exc:
            raise UserError("the webhook secret after 'whsec_' is not base64") from exc
    else:
        key = secret.encode()
    if not key:
        raise UserError("the webhook secret is empty")
    return key


def _signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()).decode()


def sign_webhook(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a standard webhook carrying `body`."""
    stamp = str(timestamp)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + _signature(secret, webhook_id, stamp, body),
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
) -> None:
    """Check a standard webhook; `WebhookSignatureError` says what is wrong.

    Args:
        secret: The endpoint's secret (`whsec_...`).
        headers: The request headers (lower-case names, as ASGI gives them).
        body: The raw body, exactly as received.
        now: Unix seconds.
        tolerance_s: How stale (or early) a timestamp may be.
    """
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not webhook_id or not timestamp or not signatures:
        raise WebhookSignatureError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookSignatureError("webhook-timestamp is not a whole number of seconds") from None
    if now - sent > tolerance_s:
        raise WebhookSignatureError(
            f"webhook-timestamp is {int(now - sent)}s old (more than {tolerance_s}s): refused "
            "as a possible replay"
        )
    if sent - now > tolerance_s:
        raise WebhookSignatureError("webhook-timestamp is in the future")
    expected = _signature(secret, webhook_id, timestamp, body)
    given = [part[3:] if part.startswith("v1,") else part for part in signatures.split()]
    if not any(hmac.compare_digest(expected, candidate) for candidate in given):
        raise WebhookSignatureError("webhook-signature does not match the body")
