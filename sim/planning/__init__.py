"""A shuttle plan from the expected demand: each line's buses and headway per period, meeting a
stated maximum wait and load (`python run.py plan`).

The demand is the scenario's own, run once as it stands: every rider who joins a stop's queue
(boarded, left behind by a full bus or gave up waiting) loads the legs from that stop to where
the rider is going, so each line has, per hour, the riders on its busiest leg (the clock
hour's count, or with a shorter window the rate of the hour's busiest quarter or half hour: the
waves at shift changes and session ends). Per hour a line runs, the headway is the longest
of the usual timetable values that keeps
- the wait: headway <= 2 x the maximum wait (a rider waits half a headway on average), and
- the load: riders per hour / (seats x runs per hour) <= the maximum load,
and the buses are ceil(round trip / headway), the round trip being the run's own (out and back
at the 90th percentile of the runs of that time, plus the layovers). Hours of the same headway
and buses make one period. A line runs from its first hour with riders to its last (two idle
hours or more in between: none); a line nobody rode is left out of the plan. The plan is
written as a scenario on the input (`base`) with the lines alone, each line commented with its
demand and targets, to edit and run; settled over runs of the plan (riders choose lines by the
timetable).

- `demand.py`: the riders a run put on each line, and its run times
- `timetable.py`: periods, headways, buses and extra runs from that demand
- `check.py`: a run of a plan against the targets
- `settling.py`: rounds of plan, run and merge until every line meets its targets
- `scenario_file.py`: the plan as a scenario a planner edits
"""
