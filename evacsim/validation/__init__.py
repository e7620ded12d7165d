"""Oracles the model is checked against: queueing theory (:mod:`.theory`)."""
