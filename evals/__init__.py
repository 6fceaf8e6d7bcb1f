"""Evaluations of the agent, run from the repository (not shipped in the wheel)."""
