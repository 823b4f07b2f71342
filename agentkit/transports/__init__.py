"""Transports: thin pumps that move frames between a session and a realtime service.

`memory.py` (the in-memory pair, for tests), `websocket.py` (OpenAI and compatible
servers), `azure.py` (Azure OpenAI's URLs and its key or Entra ID token).
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
from .websocket import OPENAI_REALTIME_URL, WebSocketTransport, realtime_url

__all__ = [
    "AZURE_API_VERSION",
    "OPENAI_REALTIME_URL",
    "AzureTransport",
    "ConnectionClosed",
    "MemoryServerEnd",
    "MemoryTransport",
    "TokenProvider",
    "Transport",
    "WebSocketTransport",
    "azure_realtime_url",
    "azure_transport",
    "memory_transport_pair",
    "realtime_url",
]
