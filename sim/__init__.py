"""summit-sim: a mesoscopic multi-agent simulation of Gyeongju during the APEC 2025 summit."""

__version__ = "0.1.0"
