"""`python run.py optimize`: from what-if to what-should. Proposes a shuttle plan (fewest buses
meeting KPI constraints) or an emergency staging plan (venue coverage under a unit budget with a
city floor), then proves it in simulation on fresh seeds.

- `names.py`: the objectives and the short KPI names (light: the command line's help)
- `problem.py`: objectives, constraints and the shuttle plan's decision variables
- `search.py`: the simulation-based search (Optuna), its history, resume, verification
- `staging.py`: the staging plan: travel times under the day's traffic, the covering MILP
  (scipy.optimize.milp, HiGHS) and the coverage measured in simulation
- `staging_search.py`: the staging plan improved by simulation (moves ranked by the matrix
  with the drill in it, judged by the probe on the search seeds)
- `report.py`: the chosen plan as a scenario file, tables and pictures
- `outputs.py`: the chosen plan proved on fresh seeds, the output folder written whole
- `command.py`: the command line
"""
