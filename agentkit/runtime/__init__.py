"""agentkit.runtime: what runs a live session, from the sans-I/O core out.

The core decides and does no I/O (a test checks it): `supervisor` is the façade of the
state machine of one session, carved into parts by concern:

| module | what it owns |
| --- | --- |
| `supervisor` | the façade: connection changes, app calls, wire events in, outputs out |
| `core` | what every part shares: the agent, the history, the output buffers |
| `dispatch` | which handler each wire event class goes to |
| `responses` | one `response.create` at a time; the follow-up after tool calls |
| `calls` | function calls: one dispatch, exactly one output each; handoff ordering |
| `approvals` | calls parked until the app decides, or their deadline passes |
| `guardrail_gate` | input held for checks, output checks, what a trip does |
| `playback` | what the caller heard; interruption and truncation |
| `watchdog` | every deadline (where a tool is timed out), limits, renewal, stalls |
| `commands` | the work the supervisor asks the runtime to start or stop |
| `config` | `RuntimeConfig`, built once by the runner |
| `policy` | guardrail and approval decisions (`SessionPolicy`), running checks |
| `reconnect` | backoff, replay frames, the retry loop |
| `observer` | what instrumentation is told, and the no-op default |
| `delivery` | the app's bounded event queue and handlers |
| `slots` | concurrent-session slots |

Around it, the parts that await: `work` (each command's work, reported back) and
`tool_runner` (tools in tasks and worker threads: the one module here that does I/O).
`agentkit.session.RealtimeSession` pumps a transport through all of it.
"""
