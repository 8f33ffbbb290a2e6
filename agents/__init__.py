"""Mesa agents that decide, one folder per layer of the model (`summit/`, `emergency/`),
riding on the traffic engine in `sim/traffic/`."""
