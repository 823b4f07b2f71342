"""`agentkit transcript SESSION_ID`: a stored conversation, as JSON on stdout.

Reads the session from the Redis the workers share (`--redis`, or `AGENTKIT_REDIS_URL`) and
prints `agentkit.store.transcript`'s document: items, tool calls, handoffs, guardrail trips,
response latencies. Exit 1 with a clear message when the store has no such session (never
stored, or past its retention).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from ..errors import UserError
from ..store import RedisStore, StoreError, check_session_id, transcript_json

__all__ = ["configure_transcript", "run_transcript_command"]


def configure_transcript(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("session_id", metavar="SESSION_ID", help="the conversation's id")
    parser.add_argument(
        "--redis", metavar="URL", default=os.environ.get("AGENTKIT_REDIS_URL"),
        help="the workers' Redis (default: $AGENTKIT_REDIS_URL)",
    )
    parser.add_argument("--compact", action="store_true", help="one line of JSON, not indented")


def run_transcript_command(args: argparse.Namespace) -> int:
    """Print the transcript; exit 1 when it is not there."""
    if not args.redis:
        raise UserError("agentkit transcript needs --redis URL (or AGENTKIT_REDIS_URL)")
    session_id = check_session_id(args.session_id)

    async def read() -> str | None:
        store = RedisStore.from_url(args.redis)
        try:
            state = await store.load(session_id)
        finally:
            await store.close()
        return transcript_json(state, indent=not args.compact) if state is not None else None

    try:
        text = asyncio.run(read())
    except StoreError as exc:
        raise UserError(f"could not read the session store: {exc}") from exc
    if text is None:
        raise UserError(
            f"no session {session_id!r} in the store (never recorded, or past its retention)"
        )
    sys.stdout.write(text + "\n")
    return 0
