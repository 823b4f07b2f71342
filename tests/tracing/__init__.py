"""Tests of `agentkit.tracing`, one file per module (a package: its file names repeat others')."""
