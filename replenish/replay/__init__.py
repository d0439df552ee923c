"""`replenish replay`: a daily demand history replayed through the platform and scored against a min/max baseline."""
