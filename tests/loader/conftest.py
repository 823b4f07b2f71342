"""Shared by the loader's tests: the all-features definition file, loaded once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.loader import Definitions, load_definitions

FULL = Path(__file__).parents[1] / "data" / "good" / "full" / "agents.yaml"


@pytest.fixture(scope="module")
def full() -> Definitions:
    return load_definitions(FULL, env={"LOOKUP_TIMEOUT": "2.5", "REGION": "eu"})
