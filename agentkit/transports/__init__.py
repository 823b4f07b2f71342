"""Transports: thin pumps that move frames between a session and a realtime service.

`memory.py` (the in-memory pair, for tests), `websocket.py` (OpenAI and compatible
servers), `azure.py` (Azure OpenAI's URLs and its key or Entra ID token), `webrtc.py` with
`webrtc_media.py` and `webrtc_signaling.py` (WebRTC with aiortc: the `oai-events` data
channel, audio tracks, SDP exchange).

The WebRTC names load aiortc and PyAV, which take longer to import than the rest of the
package together: they are imported on first use (`agentkit.WebRTCTransport`), not by
`import agentkit`.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .azure import (
    AZURE_API_VERSION,
    AzureTransport,
    TokenProvider,
    azure_realtime_url,
    azure_transport,
)
from .base import ConnectionClosed, Transport
from .codecs import Codec
from .memory import MemoryServerEnd, MemoryTransport, memory_transport_pair
from .websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url

if TYPE_CHECKING:
    from .webrtc import OPENAI_API_BASE, WebRTCTransport
    from .webrtc_media import MediaFaults

__all__ = [
    "AZURE_API_VERSION",
    "OPENAI_API_BASE",
    "OPENAI_REALTIME_URL",
    "AzureTransport",
    "Codec",
    "ConnectionClosed",
    "MediaFaults",
    "MemoryServerEnd",
    "MemoryTransport",
    "TokenProvider",
    "Transport",
    "WebRTCTransport",
    "WebSocketTransport",
    "azure_realtime_url",
    "azure_transport",
    "memory_transport_pair",
    "realtime_url",
]

# Imported on first use: see the module docstring.
_LAZY = {
    "OPENAI_API_BASE": ".webrtc",
    "WebRTCTransport": ".webrtc",
    "MediaFaults": ".webrtc_media",
}

__getattr__ = lazy_exports(__name__, _LAZY)
