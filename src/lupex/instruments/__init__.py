"""Sample-handling and in-situ instruments: one module per instrument, forward model and retrieval side by side."""
