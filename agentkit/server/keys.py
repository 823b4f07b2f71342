"""API keys and ephemeral keys: who may open a session, and with which minted session.

`KeyStore` finds the key of a request (Bearer, `api-key` header or query parameter, the
`openai-insecure-api-key.<key>` subprotocol browsers use), checks it (a fixed set of API
keys, or any key; `ek_` keys must have been minted here and not have expired) and keeps the
ephemeral keys `POST /v1/realtime/client_secrets` mints with their session. The store is
in memory; a server shared by several processes would keep `minted` elsewhere (Redis), behind
the same methods.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from websockets.http11 import Request

__all__ = ["EphemeralKey", "KeyStore"]

_KEY_PROTOCOL: Final = "openai-insecure-api-key."


@dataclass
class EphemeralKey:
    """A minted `ek_` key: when it expires, the session it opens, that session's id."""

    expires_at: float
    session: dict[str, Any] | None
    session_id: str
    used: bool = False


class KeyStore:
    """The server's API keys (`None`: any key) and the ephemeral keys it minted.

    `clock` is the wall clock expiry is checked against (`time.time`; tests move it)."""

    def __init__(self, api_keys: Iterable[str] | None, clock: Callable[[], float] = time.time) -> None:
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.clock = clock
        self.minted: dict[str, EphemeralKey] = {}

    @staticmethod
    def key_of(request: Request, query: Mapping[str, list[str]]) -> str | None:
        """The key `request` carries, if any."""
        auth = request.headers.get("Authorization")
        if auth and auth.lower().startswith("bearer "):
            return auth[7:].strip()
        for name in ("api-key",):
            if request.headers.get(name):
                return str(request.headers[name])
            if query.get(name):
                return query[name][0]
        for value in request.headers.get_all("Sec-WebSocket-Protocol"):
            for proto in value.split(","):
                proto = proto.strip()
                if proto.startswith(_KEY_PROTOCOL):
                    return proto[len(_KEY_PROTOCOL) :]
        return None

    def auth_error(self, key: str | None) -> str | None:
        """Why `key` is refused (`None`: it is accepted)."""
        if not key:
            return "You didn't provide an API key."
        if key.startswith("ek_"):
            secret = self.minted.get(key)
            if secret is None:
                return "Invalid ephemeral key."
            if self.clock() >= secret.expires_at:
                return "Ephemeral key has expired."
            return None
        if self.api_keys is not None and key not in self.api_keys:
            return "Incorrect API key provided."
        return None

    def mint(self, expires_at: float, session: dict[str, Any] | None, session_id: str) -> str:
        """A new `ek_` key that opens `session` (with id `session_id`) until `expires_at`
        (a float: a 10 s key works for 10 s, not 9). Expired keys are dropped first, so the
        table holds only the keys still valid."""
        self.prune()
        value = "ek_" + secrets.token_urlsafe(24)
        self.minted[value] = EphemeralKey(expires_at, session, session_id)
        return value

    def prune(self) -> None:
        """Forget the keys that have expired."""
        now = self.clock()
        expired = [key for key, minted in self.minted.items() if now >= minted.expires_at]
        for key in expired:
            del self.minted[key]

    def redeem(self, key: str | None) -> tuple[dict[str, Any] | None, str | None]:
        """The session a connection opened with `key` starts with, and its id: the minted
        id the first time only (a second connection gets the session under a new id)."""
        minted = self.minted.get(key or "")
        if minted is None:
            return None, None
        session_id = None
        if not minted.used:
            session_id = minted.session_id
            minted.used = True
        return minted.session, session_id
