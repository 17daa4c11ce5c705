"""The mission's phases, the run directory and its products."""
