"""`agentkit.testing`: conversation tests for your agents, deterministic and offline.

- A **spec** (`spec.py`): a YAML file naming the agents under test, the local server's
  model side (a script, or inline steps) and, per caller turn, what must happen: tool calls
  with argument matchers, handoffs, guardrail trips, approvals (answered by the spec), what
  the agent says, the agent in charge, a latency budget. `load_spec` checks it against
  `SPEC_SCHEMA` and the agents, with `file:line:col` errors.
- `run_spec` / `arun_spec` (`run.py`): play a spec against the local server (or a real
  service) and return a `SpecResult`; `agentkit test` prints it (`report.py`: the text
  report and JUnit XML).
- The pytest plugin (`plugin.py`, registered as the `agentkit` `pytest11` entry point):
  fixtures `local_server`, `agentkit_session` and `caller` (a `RecordingCaller` whose
  `expect` asserts on the last turn).

| module | concept |
| --- | --- |
| `spec.py`, `spec_schema.py` | the spec format, its schema and its loader |
| `matchers.py` | argument and text matchers |
| `record.py` | what happened in a turn (`TurnRecord`), from the session's events |
| `check.py` | expectations vs records: the `Failure`s |
| `conversation.py` | `RecordingCaller`: turns played, recorded, approvals answered |
| `expect.py` | `Expect`: assertions for Python tests |
| `run.py` | running a spec: `SpecResult` |
| `report.py` | the console report and JUnit XML |
| `command.py` | `agentkit test` |
| `plugin.py` | the pytest plugin |
"""

from .check import Failure, check_turn
from .conversation import RecordingCaller
from .expect import Expect
from .matchers import Matcher, TextMatcher, anything, contains, regex
from .record import ObservedCall, TurnRecord, TurnRecorder
from .run import SpecResult, TurnResult, arun_spec, run_spec
from .spec import Approval, Expectations, ExpectedCall, Spec, SpecTurn, load_spec
from .spec_schema import SPEC_SCHEMA

__all__ = [
    "SPEC_SCHEMA",
    "Approval",
    "Expect",
    "Expectations",
    "ExpectedCall",
    "Failure",
    "Matcher",
    "ObservedCall",
    "RecordingCaller",
    "Spec",
    "SpecResult",
    "SpecTurn",
    "TextMatcher",
    "TurnRecord",
    "TurnRecorder",
    "TurnResult",
    "anything",
    "arun_spec",
    "check_turn",
    "contains",
    "load_spec",
    "regex",
    "run_spec",
]
