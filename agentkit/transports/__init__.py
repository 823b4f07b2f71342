"""Transports: thin pumps that move frames between a session and a realtime service.

`memory.py` (the in-memory pair, for tests), `websocket.py` (OpenAI and compatible
servers), `azure.py` (Azure OpenAI's URLs and its key or Entra ID token), `webrtc.py` with
`webrtc_media.py` and `webrtc_signaling.py` (WebRTC with aiortc: the `oai-events` data
channel, audio tracks, SDP exchange).
"""

from .azure import (
    AZURE_API_VERSION,
    AzureTransport,
    TokenProvider,
    azure_realtime_url,
    azure_transport,
)
from .base import ConnectionClosed, Transport
from .memory import MemoryServerEnd, MemoryTransport, memory_transport_pair
from .webrtc import OPENAI_API_BASE, WebRTCTransport
from .webrtc_media import Codec, MediaFaults
from .websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url

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
