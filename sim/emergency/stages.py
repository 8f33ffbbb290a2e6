"""The stages of a response as a drill log and the model name them, and how closely drill logs
are kept (shared by the drill review and its timeline picture)."""

from __future__ import annotations

STAGES = ("call", "dispatch", "en_route", "on_scene", "transport", "hospital", "clear")
STAGE_FIELD = {"dispatch": "dispatch_s", "en_route": "en_route_s", "on_scene": "on_scene_s",
               "transport": "transport_s", "hospital": "hospital_s", "clear": "clear_s"}
STAGE_LABEL = {"dispatch": "dispatched", "en_route": "set off", "on_scene": "on scene",
               "transport": "left with patient", "hospital": "at hospital", "clear": "clear"}
TOLERANCE_S = 15.0  # drill logs are kept to about this (radio log, stopwatch): no flag within
