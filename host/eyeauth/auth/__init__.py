"""Host side of on-device authentication: pairing, the board client, thresholds, evaluation."""
