"""The wire's basic vocabulary, shared by every protocol module: the id types, the JSON
aliases and the dialect literal.

The ids are `NewType`s over `str`: free at run time (the value is the plain string), but the
type checker keeps a call id from being passed where an item id is expected. A plain `str`
read from JSON becomes one by annotation at the door (the decoder), not by a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NewType

__all__ = ["CallId", "Dialect", "ItemId", "JsonMapping", "JsonObject", "ResponseId"]

ItemId = NewType("ItemId", str)
"""The id of a conversation item (`item_...`)."""
CallId = NewType("CallId", str)
"""The id of one function call (`call_...`), the key of its single output."""
ResponseId = NewType("ResponseId", str)
"""The id of one model response (`resp_...`)."""

JsonObject = dict[str, Any]
"""A JSON object being built (a payload to send, a converted item): mutable."""
JsonMapping = Mapping[str, Any]
"""A JSON object to read (a decoded event's `item`, `session`, `response`): read-only."""

Dialect = Literal["ga", "beta", "live"]
"""Which protocol a connection speaks: `"ga"` (default), `"beta"` (`OpenAI-Beta: realtime=v1`)
or `"live"` (GPT-Live, `/v1/live/sessions`: see `protocol/live_config.py`)."""
