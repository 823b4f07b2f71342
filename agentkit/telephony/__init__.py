"""`agentkit.telephony`: phone calls to your agents, over Twilio Media Streams or OpenAI SIP.

| module | concept |
| --- | --- |
| `dtmf.py` | keypad sequences an agent declares, and the one matching policy |
| `signatures.py` | Twilio's request signature and the standard webhooks (sign and verify) |
| `twilio.py` | the sans-I/O Media Streams bridge (μ-law through, marks, `clear`, DTMF) |
| `sip.py` | the SIP webhook's event, call control (accept, reject, refer, hangup), the sideband |
| `routes.py` | the Starlette routes (`telephony_routes`, `app`) pumping the two |

Starlette is imported only by `routes.py`, when one of its names is first used here:
`import agentkit` does not load it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .dtmf import DtmfAction, DtmfHandoff, DtmfKeypad, DtmfMatch, DtmfReply, DtmfToolCall
from .signatures import WebhookSignatureError, sign_twilio, sign_webhook, verify_webhook

if TYPE_CHECKING:
    from .routes import CallScreen, PhoneCalls, TelephonyConfig, app, telephony_routes
    from .sip import IncomingCall, SipCallControl, answer_call
    from .twilio import TwilioMediaBridge

__all__ = [
    "CallScreen",
    "DtmfAction",
    "DtmfHandoff",
    "DtmfKeypad",
    "DtmfMatch",
    "DtmfReply",
    "DtmfToolCall",
    "IncomingCall",
    "PhoneCalls",
    "SipCallControl",
    "TelephonyConfig",
    "TwilioMediaBridge",
    "WebhookSignatureError",
    "answer_call",
    "app",
    "sign_twilio",
    "sign_webhook",
    "telephony_routes",
    "verify_webhook",
]

_LAZY = {
    "CallScreen": "routes",
    "PhoneCalls": "routes",
    "TelephonyConfig": "routes",
    "app": "routes",
    "telephony_routes": "routes",
    "IncomingCall": "sip",
    "SipCallControl": "sip",
    "answer_call": "sip",
    "TwilioMediaBridge": "twilio",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.telephony' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
