"""The summit layer's agents: delegates and their day, shuttle buses on their lines,
demand-responsive vans, hotels and the allocation of guests, screening at the venue gates."""
