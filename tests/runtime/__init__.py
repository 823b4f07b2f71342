"""Tests of `agentkit.runtime`, one file per module (a package: its file names repeat others', e.g. `test_policy`)."""
