"""Fixtures of the tracing tests (the helpers are in `harness`)."""

from __future__ import annotations

import io

import pytest

from agentkit.loader import Definitions, load_definitions

from .harness import EXAMPLE, Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def console_output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return load_definitions(EXAMPLE / "agents.yaml", env={})
