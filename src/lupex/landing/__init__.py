"""Precision landing: descent, guidance, sensors, navigation filter, camera rendering, crater and
terrain matching, pose, hazard avoidance and Monte Carlo (SLIM-derived feature navigation)."""
