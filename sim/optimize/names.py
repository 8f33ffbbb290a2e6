"""The optimiser's names: objectives and the short KPI names a planner writes. Kept apart
from the problem's code so that the command line builds its help without loading the model."""

# short names a planner writes for the KPIs constraints usually bind (docs/kpis.md); any
# flattened metrics.json name works too
KPI_ALIASES = {
    "on_time": "delegates.on_time_rate",
    "wheelchair_on_time": "delegates.wheelchair.on_time_rate",
    "wait_p90": "delegates.wait_p90_min",
    "peak_load": "shuttles.peak_hour_max_load_share",
    # trips to sessions whose traveller left the stop by taxi after delegates.max_wait_min
    "gave_up_to_sessions": "delegates.gave_up_waiting_by_purpose.to_session",
    "venue_coverage": "optimize.venue_covered_share",
    "city_coverage": "optimize.city_covered_share",
}
SHUTTLE_OBJECTIVES = {"buses": "line buses in all (the busiest period of each line, extra "
                               "buses included)",
                      "bus_hours": "bus-hours the timetables schedule"}
STAGING_OBJECTIVES = {"venue_coverage": "share of the venue perimeters reached within the "
                                        "response target (maximised)"}
OBJECTIVES = {**SHUTTLE_OBJECTIVES, **STAGING_OBJECTIVES}
SHUTTLE_BUDGET = 30  # candidates a shuttle search evaluates unless --budget says
# judgement: 12 placements: the starts (4 on a two-type day) and 8 moves, about 100 s of
# simulation on the HICO drill at two seeds on one core
STAGING_BUDGET = 12
