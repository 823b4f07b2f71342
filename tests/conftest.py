"""Test helpers shared across folders are importable by name from any test: the conformance
validator (`openai_conformance`, `needs`) in this directory, the supervisor harnesses
(`support`, `triage`, `desk`) in `runtime/`, the server's (`session_harness`, `wire_client`)
in `server/`. A test file run alone finds them too."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
for _folder in (_TESTS, _TESTS / "runtime", _TESTS / "server"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
