"""agentkit.runtime."""
