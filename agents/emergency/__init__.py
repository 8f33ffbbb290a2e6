"""The emergency layer's agents: 119 calls and incidents, fire, EMS and police units at their
stations, hospitals and helicopters, and evacuations."""
