"""Observed Gyeongju data, the fit of a run to it, and calibration of parameters against it."""
