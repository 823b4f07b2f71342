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
