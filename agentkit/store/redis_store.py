"""`RedisStore`: sessions and leases in Redis, through redis-py's asyncio client.

Needs the `redis` extra (`pip install 'agentkit[redis]'`); redis-py is imported when a store
is made, never by `import agentkit`.

Keys, per session `S` (the `{S}` hash tag keeps a session's keys in one slot of a Redis
Cluster, so its Lua scripts may touch them all):

| key | type | holds |
| --- | --- | --- |
| `agentkit:{S}:lease` | string, with a TTL | the owning worker's id |
| `agentkit:{S}:fields` | hash | `agent`, `response`, `playback`, `settings`, `content`, `ended`, times (JSON) |
| `agentkit:{S}:items` | hash | item id → the item (JSON) |
| `agentkit:{S}:order` | list | item ids, oldest first |
| `agentkit:{S}:calls` | hash | call id → the call record (JSON) |
| `agentkit:{S}:log` | list | transcript events (JSON) |

Every write, lease step and release is one Lua script, so each is atomic: the lease is taken
with a compare-and-set, renewed and released with a compare-and-extend / compare-and-delete,
and a session's batch of writes is applied only while its lease is free or the writer's
(fencing). The batches of many sessions go in one pipeline: one round trip per flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .base import StoreError, WriteBatch
from .state import (
    AppendLog,
    PutCalls,
    PutItems,
    SessionParts,
    SessionState,
    SetFields,
    SetOrder,
    Write,
    decode_state,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore", "session_keys"]

_PARTS = ("fields", "items", "order", "calls", "log")

# KEYS: lease, fields, items, order, calls, log. ARGV: owner, lease ttl (ms), retention (ms,
# 0: none), then the writes, each as `op, n, arg1..argn`.
_WRITE = """
local owner = ARGV[1]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= owner then return 0 end
if not holder then redis.call('SET', KEYS[1], owner, 'PX', ARGV[2]) end
local i = 4
while i <= #ARGV do
  local op = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  local args = {}
  for j = 1, n do args[j] = ARGV[i + 1 + j] end
  if op == 'fields' then redis.call('HSET', KEYS[2], unpack(args))
  elseif op == 'items' then redis.call('HSET', KEYS[3], unpack(args))
  elseif op == 'order' then
    redis.call('DEL', KEYS[4])
    if n > 0 then redis.call('RPUSH', KEYS[4], unpack(args)) end
  elseif op == 'order+' then redis.call('RPUSH', KEYS[4], unpack(args))
  elseif op == 'calls' then redis.call('HSET', KEYS[5], unpack(args))
  elseif op == 'log' then
    redis.call('DEL', KEYS[6])
    if n > 0 then redis.call('RPUSH', KEYS[6], unpack(args)) end
  elseif op == 'log+' then redis.call('RPUSH', KEYS[6], unpack(args))
  end
  i = i + 2 + n
end
local keep = tonumber(ARGV[3])
if keep > 0 then
  for k = 2, 6 do redis.call('PEXPIRE', KEYS[k], keep) end
end
return 1
"""

_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return holder
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Lua's `unpack` takes a few thousand values at most: longer writes go in several ops.
_MAX_ARGS = 1000


def session_keys(session_id: str, prefix: str = "agentkit") -> list[str]:
    """The session's keys: its lease, then `fields`, `items`, `order`, `calls`, `log`."""
    base = f"{prefix}:{{{session_id}}}"
    return [f"{base}:lease", *(f"{base}:{part}" for part in _PARTS)]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _ops(write: Write) -> list[tuple[str, list[str]]]:
    """One write as script ops `(op, args)`, split so none has more than `_MAX_ARGS`."""
    match write:
        case PutItems():
            return _chunked("items", [v for pair in write.items for v in pair], pairs=True)
        case PutCalls():
            return _chunked("calls", [v for pair in write.calls for v in pair], pairs=True)
        case SetFields():
            return _chunked("fields", [v for pair in write.fields for v in pair], pairs=True)
        case SetOrder():
            ops = _chunked("order+", list(write.item_ids))
            if not write.append:
                ops = [("order", ops[0][1] if ops else []), *ops[1:]]
            return ops
        case AppendLog():
            ops = _chunked("log+", list(write.entries))
            if write.replace:
                ops = [("log", ops[0][1] if ops else []), *ops[1:]]
            return ops


def _chunked(op: str, args: list[str], *, pairs: bool = False) -> list[tuple[str, list[str]]]:
    size = _MAX_ARGS - (_MAX_ARGS % 2 if pairs else 0)
    return [(op, args[start : start + size]) for start in range(0, len(args), size)]


class RedisStore:
    """A `SessionStore` in Redis (see the module docs).

    Args:
        client: A `redis.asyncio.Redis` made with `decode_responses=True`; see `from_url`.
        prefix: The first part of every key.
    """

    def __init__(self, client: Redis, *, prefix: str = "agentkit") -> None:
        self.client = client
        self.prefix = prefix
        self._write = client.register_script(_WRITE)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = 1.0, prefix: str = "agentkit") -> RedisStore:
        """A store on the Redis at `url` (`redis://host:port/db`, `rediss://...`, `unix://...`).

        `timeout_s` bounds each command: a Redis that does not answer in time is reported as
        a `StoreError`, and the live session goes on (see `StoreWriter`). No retries here:
        the writer retries with its own backoff.
        """
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise StoreError(
                "the Redis store needs redis-py: pip install 'agentkit[redis]'"
            ) from exc
        client = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, prefix=prefix)

    def _keys(self, session_id: str) -> list[str]:
        return session_keys(session_id, self.prefix)

    async def _run(self, what: str, coroutine: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await coroutine
        except (RedisError, OSError) as exc:
            raise StoreError(f"redis {what} failed: {type(exc).__name__}: {exc}") from exc

    async def write(self, batches: Sequence[WriteBatch]) -> list[bool]:
        """See `SessionStore.write`: every batch in one pipeline (one round trip)."""
        if not batches:
            return []
        # `async with`: the pipeline is reset (its connection given back) even when the
        # round trip fails.
        async with self.client.pipeline(transaction=False) as pipe:
            for batch in batches:
                args: list[str | int] = [
                    batch.owner,
                    _ms(batch.lease_ttl_s),
                    _ms(batch.retention_s) if batch.retention_s is not None else 0,
                ]
                for write in batch.writes:
                    for op, values in _ops(write):
                        args += [op, len(values), *values]
                await self._write(keys=self._keys(batch.session_id), args=args, client=pipe)
            results = await self._run("write", pipe.execute())
        return [bool(result) for result in results]

    async def load(self, session_id: str) -> SessionState | None:
        """See `SessionStore.load`."""
        _, fields, items, order, calls, log = self._keys(session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(fields)
            pipe.hgetall(items)
            pipe.lrange(order, 0, -1)
            pipe.hgetall(calls)
            pipe.lrange(log, 0, -1)
            got = await self._run("load", pipe.execute())
        if not any(got):
            return None
        return decode_state(session_id, SessionParts(*got))

    async def acquire(self, session_id: str, owner: str, ttl_s: float) -> str | None:
        """See `SessionStore.acquire`."""
        holder = await self._run(
            "acquire", self._acquire(keys=self._keys(session_id)[:1], args=[owner, _ms(ttl_s)])
        )
        return str(holder) if holder is not None else None

    async def renew(self, session_id: str, owner: str, ttl_s: float) -> bool:
        """See `SessionStore.renew`."""
        done = await self._run(
            "renew", self._renew(keys=self._keys(session_id)[:1], args=[owner, _ms(ttl_s)])
        )
        return bool(done)

    async def release(self, session_id: str, owner: str) -> bool:
        """See `SessionStore.release`."""
        done = await self._run(
            "release", self._release(keys=self._keys(session_id)[:1], args=[owner])
        )
        return bool(done)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
