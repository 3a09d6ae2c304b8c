CHECKS = {"ops": []}
