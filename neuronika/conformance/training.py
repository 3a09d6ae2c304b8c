CHECKS = {"training": [], "state": [], "checkpoints": []}
