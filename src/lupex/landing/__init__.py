"""Precision landing, with SLIM-derived feature navigation.

Descent, guidance, sensors, navigation filter, camera rendering, crater and terrain matching, pose, hazard
avoidance and Monte Carlo.
"""
