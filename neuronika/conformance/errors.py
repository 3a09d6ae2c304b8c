CHECKS = {"errors": []}
