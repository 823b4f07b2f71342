"""What a test needs from the machine: skip on a user's machine, fail under CI.

A test that needs a system package (a browser, a server, a synthesiser) calls
`need(available, package)`. On a developer's machine without it the test is skipped with a
message naming the package to install; under CI (`CI=true`) a missing package fails the test,
since a skip there would hide a broken setup (`.ci/run` installs what the tests need).
"""

from __future__ import annotations

import os

import pytest

__all__ = ["need", "under_ci"]


def under_ci() -> bool:
    """True when the suite runs under CI (`CI` set to a true value)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(available: bool, package: str, what: str | None = None) -> None:
    """Skip (locally) or fail (under CI) unless `available`.

    Args:
        available: Whether the machine has what the test needs.
        package: The Debian package that provides it (named in the message).
        what: What is missing, if not the package itself (a binary, a server).
    """
    if available:
        return
    message = f"{what or package} is not installed: install it with `apt-get install {package}`"
    if under_ci():
        pytest.fail(f"{message} (under CI every test must run; .ci/run installs it)")
    pytest.skip(message)
