"""Landing: powered descent, sensors, navigation filter, hazard avoidance, vision and Monte Carlo."""
