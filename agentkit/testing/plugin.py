"""The pytest plugin (the `agentkit` `pytest11` entry point): conversation tests in your own
repository, against the local server, with no key and no network.

```python
import pytest

pytestmark = pytest.mark.agentkit(agents="agents.yaml", script="conversations/return.yaml")


async def test_return(caller):
    await caller.say("I'd like to return order A1001.")
    caller.expect.tool_call("lookup_order", order_id="A1001")
    caller.expect.handoff("returns")
```

Fixtures (each only does work when a test asks for it):

- `agentkit_agents`: what the marker's `agents=` names (a definition file or
  `module:agent`, relative to the test file); override it to return a `RealtimeAgent`;
- `agentkit_script`: the marker's `script=` (relative to the test file), or None; override it
  to return a `Script`, YAML text or a dict;
- `agentkit_target`: the agents loaded (a `agentkit.cli.target.Target`);
- `agentkit_context`: what tools get as `ctx.context`; None (the default) builds it with the
  target's own context factory;
- `local_server`: a `LocalRealtimeServer` playing `agentkit_script` at `fast` pace;
- `agentkit_session`: a connected session of the agents to `local_server`;
- `caller`: a `RecordingCaller` in that session (`say`, then `expect`).

The async fixtures run on asyncio. They are pytest-asyncio fixtures when pytest-asyncio is
installed: in its `auto` mode nothing more is needed; in `strict` mode mark the tests
`@pytest.mark.asyncio`. Without pytest-asyncio they are plain async fixtures for anyio's
plugin (`@pytest.mark.anyio`, asyncio backend).

Spec files named `*.agentkit.yaml` are collected as tests too: one item per spec, failing
with the spec's report.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from ..cli.target import Target
    from ..server import LocalRealtimeServer
    from ..session import RealtimeSession
    from .conversation import RecordingCaller

__all__ = [
    "SpecFile",
    "SpecItem",
    "agentkit_agents",
    "agentkit_context",
    "agentkit_script",
    "agentkit_session",
    "agentkit_target",
    "caller",
    "local_server",
    "pytest_collect_file",
    "pytest_configure",
]

F = TypeVar("F", bound=Callable[..., Any])

def _async_fixture(function: F) -> F:
    """A pytest-asyncio fixture when it is installed, else a plain one (anyio's plugin runs
    the async fixtures of anyio-marked tests)."""
    try:
        import pytest_asyncio
    except ImportError:
        decorated: object = pytest.fixture(function)
    else:
        decorated = pytest_asyncio.fixture(function)
    return cast(F, decorated)  # a fixture definition still calls as the function

SPEC_SUFFIX = ".agentkit.yaml"
"""Spec files pytest collects."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the `agentkit` marker."""
    config.addinivalue_line(
        "markers",
        "agentkit(agents=None, script=None, turn_timeout=10): the agents under test (a definition "
        "file or module:agent) and the local server's script, relative to the test file",
    )


def _marker_value(request: pytest.FixtureRequest, key: str) -> Any:
    marker = request.node.get_closest_marker("agentkit")
    return None if marker is None else marker.kwargs.get(key)


def _relative(request: pytest.FixtureRequest, value: str | Path) -> Path:
    return Path(request.path).parent / value


@pytest.fixture
def agentkit_agents(request: pytest.FixtureRequest) -> Any:
    """The agents under test: the `agentkit` marker's `agents=` (override to return a
    `RealtimeAgent`)."""
    agents = _marker_value(request, "agents")
    if agents is None:
        pytest.fail(
            "name the agents under test: @pytest.mark.agentkit(agents='agents.yaml'), or "
            "override the agentkit_agents fixture",
            pytrace=False,
        )
    return agents


@pytest.fixture
def agentkit_script(request: pytest.FixtureRequest) -> Any:
    """The local server's script: the marker's `script=` as a path, or None."""
    script = _marker_value(request, "script")
    return _relative(request, script) if isinstance(script, str | Path) else script


@pytest.fixture
def agentkit_context() -> Any:
    """What tools get as `ctx.context`; None builds it with the target's factory."""
    return None


@pytest.fixture
def agentkit_target(request: pytest.FixtureRequest, agentkit_agents: Any) -> Target:
    """`agentkit_agents` loaded: the agents, their settings and their context factory."""
    from ..agent import RealtimeAgent, walk_agents
    from ..cli.target import Target, load_target
    from ..settings import SessionSettings
    from .spec import resolve_target

    agents = agentkit_agents
    if isinstance(agents, Target):
        return agents
    if isinstance(agents, RealtimeAgent):
        every = walk_agents(agents)
        return Target(
            agents.name, agents, SessionSettings(), tuple(a.name for a in every),
            all_agents={a.name: a for a in every},
        )
    return load_target(resolve_target(str(agents), Path(request.path).parent))


T = TypeVar("T")


@asynccontextmanager
async def _hosted(enter: Callable[[AsyncExitStack], Awaitable[T]]) -> AsyncIterator[T]:
    """What `enter` opens on a stack, opened and closed in a task of its own.

    pytest-asyncio sets a fixture up and tears it down in two different tasks, and anyio's
    cancel scopes (the server's, the session's, the caller's task groups) must be left in
    the task that entered them: so one task holds them for the fixture's lifetime.
    """
    ready: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def host() -> None:
        try:
            async with AsyncExitStack() as stack:
                ready.set_result(await enter(stack))
                await stop.wait()
        except BaseException as exc:
            if ready.done():
                raise
            ready.set_exception(exc)

    task = asyncio.get_running_loop().create_task(host())
    try:
        yield await ready
    finally:
        stop.set()
        await task


@_async_fixture
async def local_server(agentkit_script: Any) -> AsyncIterator[LocalRealtimeServer]:
    """A `LocalRealtimeServer` playing `agentkit_script` at `fast` pace."""
    from ..server import LocalRealtimeServer

    async def enter(stack: AsyncExitStack) -> LocalRealtimeServer:
        server = LocalRealtimeServer(script=agentkit_script, pace="fast")
        return await stack.enter_async_context(server)

    async with _hosted(enter) as server:
        yield server


@_async_fixture
async def agentkit_session(
    local_server: LocalRealtimeServer, agentkit_target: Target, agentkit_context: Any
) -> AsyncIterator[RealtimeSession[Any]]:
    """A session of the agents under test connected to `local_server`."""
    from ..cli.connection import LOCAL_KEY
    from ..cli.target import enter_context
    from ..transports.websocket import WebSocketTransport, realtime_url

    target = agentkit_target
    url = realtime_url(target.settings.model, local_server.url)

    async def enter(stack: AsyncExitStack) -> RealtimeSession[Any]:
        context = agentkit_context
        if context is None:
            context = await enter_context(stack, target.context_factory)
        transport = WebSocketTransport(url, api_key=LOCAL_KEY)
        return await stack.enter_async_context(target.runner("ga").session(transport, context=context))

    async with _hosted(enter) as session:
        yield session


@_async_fixture
async def caller(
    request: pytest.FixtureRequest, agentkit_session: RealtimeSession[Any], agentkit_target: Target
) -> AsyncIterator[RecordingCaller]:
    """A `RecordingCaller` in `agentkit_session`: `await caller.say(...)`, then
    `caller.expect....`."""
    from .conversation import RecordingCaller

    timeout = float(_marker_value(request, "turn_timeout") or 10.0)

    async def enter(stack: AsyncExitStack) -> RecordingCaller:
        recording = RecordingCaller(
            agentkit_session, agentkit_target.settings, pace="fast", turn_timeout=timeout
        )
        return await stack.enter_async_context(recording)

    async with _hosted(enter) as recording:
        yield recording


# -- spec files as tests ---------------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect `*.agentkit.yaml` spec files."""
    if file_path.name.endswith(SPEC_SUFFIX):
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecFile(pytest.File):
    """A spec file: one item, the whole conversation."""

    def collect(self) -> list[SpecItem]:
        """The spec's one item."""
        return [SpecItem.from_parent(self, name=self.path.name.removesuffix(SPEC_SUFFIX))]


class SpecFailed(AssertionError):
    """A spec whose conversation did not go as expected; the message is the report."""


class SpecItem(pytest.Item):
    """Runs a spec against the local server; fails with its report."""

    def runtest(self) -> None:
        """Load and run the spec."""
        from .report import format_result
        from .run import run_spec

        result = run_spec(self.path)
        if not result.passed:
            raise SpecFailed(format_result(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The spec's report, or the located error of a spec that does not load."""
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the spec is."""
        return self.path, 0, f"spec {self.name}"
