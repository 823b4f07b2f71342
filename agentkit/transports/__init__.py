"""Transports: thin pumps that move frames between a session and a realtime service."""

from .base import ConnectionClosed, Transport
from .memory import MemoryServerEnd, MemoryTransport, memory_transport_pair
from .websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url

__all__ = [
    "OPENAI_REALTIME_URL",
    "ConnectionClosed",
    "MemoryServerEnd",
    "MemoryTransport",
    "Transport",
    "WebSocketTransport",
    "memory_transport_pair",
    "realtime_url",
]
