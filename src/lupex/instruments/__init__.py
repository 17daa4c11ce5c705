"""Instruments: one module per instrument, forward model and retrieval side by side."""
