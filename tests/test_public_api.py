"""The public surface of `agentkit` is small, sorted and importable."""

import agentkit


def test_all_is_sorted_and_unique() -> None:
    assert list(agentkit.__all__) == sorted(set(agentkit.__all__))


def test_every_exported_name_exists() -> None:
    missing = [name for name in agentkit.__all__ if not hasattr(agentkit, name)]
    assert missing == []


def test_one_exception_root() -> None:
    errors = [
        getattr(agentkit, n)
        for n in agentkit.__all__
        if isinstance(getattr(agentkit, n), type) and issubclass(getattr(agentkit, n), Exception)
    ]
    assert errors, "the package exports its exceptions"
    assert all(issubclass(e, agentkit.AgentKitError) for e in errors)


def test_tracing_config_names_do_not_collide() -> None:
    # `TracingConfig` is the OpenTelemetry configuration a runner takes; the service's own
    # session tracing (a `session.update` field) is `RealtimeTracingConfig`, as in the SDK.
    from agentkit.settings import RealtimeTracingConfig
    from agentkit.tracing import TracingConfig

    assert agentkit.TracingConfig is TracingConfig
    assert agentkit.RealtimeTracingConfig is RealtimeTracingConfig
    assert not hasattr(agentkit.settings, "TracingConfig")
