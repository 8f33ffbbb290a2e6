"""Mesa agents that decide: delegates, shuttles and responders, riding on the engine in `sim`."""
