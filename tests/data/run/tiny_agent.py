"""A tiny Python agent for `agentkit run module:agent` tests: a weather tool and a handoff."""

from __future__ import annotations

from agentkit import RealtimeAgent, SessionSettings, tool


@tool
def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "forecast": "sunny", "high": "21 C"}


travel = RealtimeAgent(name="travel", instructions="You book trips.")
agent = RealtimeAgent(
    name="weather",
    instructions="You tell the weather.",
    tools=[get_weather],
    handoffs=[travel],
)
not_an_agent = 42

# Push-to-talk (no turn detection): the caller commits each spoken turn.
push_to_talk = RealtimeAgent(
    name="weather",
    instructions="You tell the weather.",
    tools=[get_weather],
    handoffs=[travel],
    settings=SessionSettings(turn_detection=None, input_audio_format="g711_alaw"),
)
