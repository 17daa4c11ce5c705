"""Landing: descent, camera rendering, crater detection and matching, pose, navigation filter, Monte Carlo."""
