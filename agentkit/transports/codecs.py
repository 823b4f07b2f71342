"""The WebRTC audio codecs by name and clock rate.

Kept apart from `webrtc_media` (which imports aiortc and PyAV) so that the session's
quality policy and the public API can name a codec without loading the WebRTC stack.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["CODEC_RATES", "Codec"]

Codec = Literal["opus", "pcmu", "pcma"]
"""The audio codecs of the realtime service's WebRTC endpoint."""

CODEC_RATES: Final[dict[Codec, int]] = {"opus": 48000, "pcmu": 8000, "pcma": 8000}
"""The clock rate (and the rate `OutboundAudio` makes frames at) of each codec."""
