"""Instruments: one module per instrument, forward model and retrieval side by side.

Traverse: neutron (NS), gpr, alis, emsl. Samples: drill, ltga, triton, adore, isap.
"""
