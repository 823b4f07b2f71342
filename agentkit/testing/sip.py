"""`SipCaller`: a simulated phone call into an app's SIP webhook, through the local server.

The local server plays the phone network (`agentkit.server.sip`): it signs and sends the
`realtime.call.incoming` webhook, answers the app's `accept` / `reject` / `refer` /
`hangup`, and carries the caller's audio and keypad presses into the call's session. This is
the caller's side of it, for tests:

```python
async with LocalRealtimeServer(script=..., pace="fast") as server:
    async with SipCaller(server, "http://127.0.0.1:8000/sip/webhook", secret) as call:
        call.say("I'd like to speak to a person")
        call.press("0")
        assert await call.wait_for("referred") == "referred"
```
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from ..server import LocalRealtimeServer
from ..server.sip import SipCall, SipCallStatus

__all__ = ["SipCaller"]


class SipCaller:
    """Ring `webhook_url` (signed with `secret`) and wait for the app to answer or refuse.

    Args:
        server: The local server whose phone network places the call.
        webhook_url: The app's `POST /sip/webhook` URL.
        secret: The webhook secret the app trusts.
        sip_headers: The INVITE's headers (`From`, `To`...).
        answer_timeout: Seconds to wait for `accept` or `reject`.
    """

    def __init__(
        self,
        server: LocalRealtimeServer,
        webhook_url: str,
        secret: str,
        *,
        sip_headers: dict[str, str] | None = None,
        answer_timeout: float = 10.0,
    ) -> None:
        self.server = server
        self.webhook_url = webhook_url
        self.secret = secret
        self.sip_headers = sip_headers
        self.answer_timeout = answer_timeout
        self._call: SipCall | None = None

    @property
    def call(self) -> SipCall:
        """The call (placed on entering the `async with`)."""
        if self._call is None:
            raise RuntimeError("the call is placed by `async with SipCaller(...)`")
        return self._call

    @property
    def status(self) -> SipCallStatus:
        """Ringing, accepted, rejected, referred or ended."""
        return self.call.status

    @property
    def heard(self) -> bytes:
        """What the agent said to the caller (the session's output format)."""
        return bytes(self.call.heard)

    async def __aenter__(self) -> SipCaller:
        call = self._call = await self.server.sip.place_call(
            self.webhook_url, self.secret, sip_headers=self.sip_headers
        )
        if call.webhook_status is not None and call.webhook_status < 300:
            await call.wait_for("accepted", "rejected", "ended", timeout=self.answer_timeout)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._call is not None and self._call.status == "accepted":
            await self._call.hang_up()

    def say(self, text: str, *, silence_ms: int = 900) -> None:
        """Say `text` (synthetic speech on the line), then be silent for `silence_ms`."""
        self.call.say(text, silence_ms=silence_ms)

    def play_wav(self, path: str | Path) -> None:
        """Speak the WAV file at `path`."""
        self.call.play_wav(path)

    def press(self, keys: str) -> None:
        """Press keypad keys (`input_audio_buffer.dtmf_event_received` on the call)."""
        self.call.press(keys)

    async def hang_up(self) -> None:
        """Hang up: the call and its session end."""
        await self.call.hang_up()

    async def wait_for(self, *statuses: SipCallStatus, timeout: float = 10.0) -> SipCallStatus:
        """Wait until the call is in one of `statuses`."""
        return await self.call.wait_for(*statuses, timeout=timeout)
