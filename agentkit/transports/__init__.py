"""Transports: thin pumps that move frames between a session and a realtime service."""

from .base import ConnectionClosed, Transport
from .memory import MemoryServerEnd, MemoryTransport, memory_transport_pair
from .webrtc import OPENAI_API_BASE, WebRTCTransport
from .webrtc_media import Codec, MediaFaults
from .websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url

__all__ = [
    "OPENAI_API_BASE",
    "OPENAI_REALTIME_URL",
    "Codec",
    "ConnectionClosed",
    "MediaFaults",
    "MemoryServerEnd",
    "MemoryTransport",
    "Transport",
    "WebRTCTransport",
    "WebSocketTransport",
    "memory_transport_pair",
    "realtime_url",
]
