"""Drill review: an observed drill log set against the scenario run over several seeds.

The log (docs/drill-log.md) has one row per unit and stage: incident, unit, stage, timestamp.
Every time is compared as time after the incident's call: the observed call is the log's `call`
row for that incident, or the scenario's scripted time when the log has none; the simulated call
is the run's. For each logged unit and stage the table gives the observed time, the simulated
median and 5-95% band over the runs, and a flag when the observation lies outside the band.

The runs go through the what-if runner (sim/whatif/runner.py) with its replicate seeds, the
same as compare and sweep take from the same base seed (the scenario's, or --seed), on local
worker processes (--workers) or a Dask cluster (--scheduler); the review is the same whatever
runs it. Times after the call are written one way everywhere, mm:ss (sim/clock.py format_mmss).
"""

from __future__ import annotations

import csv
import datetime
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..clock import format_clock, format_mmss, parse_clock
from ..errors import InputError
from .stages import STAGE_FIELD, STAGES, TOLERANCE_S

COLUMNS = ("incident", "unit", "stage", "timestamp")
# times after the incident's call in mm:ss; observed_clock is the logged time of day
TABLE_COLUMNS = ["incident", "unit", "stage", "observed_clock", "observed_mmss",
                 "sim_median_mmss", "sim_p5_mmss", "sim_p95_mmss", "sim_runs", "runs", "flag"]
# judgement: below about 10 runs the 5th and 95th percentiles are little more than the lowest
# and highest run, so the band (and a flag against it) is rough
ROUGH_BELOW = 10
_CALL = "drill_call\x1f"  # the runner's KPI names for the probe's figures (see StageTimes)
_TIME = "drill_time\x1f"
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")


@dataclass(frozen=True)
class Observation:
    row: int  # as a spreadsheet counts: the header is row 1
    incident: str
    unit: str  # "" for the call
    stage: str
    clock_s: float  # seconds from midnight of the scenario day


@dataclass
class Comparison:
    incident: str
    unit: str
    stage: str
    observed_clock_s: float
    observed_s: float  # after the call
    sim: list[float]  # after the call, one per run that reached the stage
    runs: int

    @property
    def median(self) -> float | None:
        return float(np.median(self.sim)) if self.sim else None

    @property
    def band(self) -> tuple[float, float] | None:
        if not self.sim:
            return None
        lo, hi = np.percentile(self.sim, [5, 95])
        return float(lo), float(hi)

    @property
    def flag(self) -> str:
        band = self.band
        if band is None:
            return "not simulated"
        if self.observed_s > band[1] + TOLERANCE_S:
            return "later than band"
        if self.observed_s < band[0] - TOLERANCE_S:
            return "earlier than band"
        return ""


# ---- the observed log -------------------------------------------------------------------------
def _timestamp(text: str, date: str) -> float:
    m = _DATE_TIME.match(text)
    if m:
        day, clock = m.groups()
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"{text!r}: {day!r} is not a date (YYYY-MM-DD)") from None
        if date and day != date:
            raise ValueError(f"{text!r}: the date {day} is not the scenario's date ({date})")
        text = clock
    try:
        return parse_clock(text)
    except ValueError as exc:
        raise ValueError(f"{exc}; or 'YYYY-MM-DD HH:MM:SS'") from None


def shipped_logs() -> list[str]:
    """The names of the observed drill logs that ship with summit-sim (scenarios/drills/)."""
    from ..scenario import DRILL_DIR

    return sorted(f.stem for f in DRILL_DIR.glob("*.csv"))


def drill_log_path(ref: str | Path) -> Path:
    """The log `--observed` names: a file, else a shipped drill log by name (with or without
    .csv), so the sample is at hand from any folder and in an installed summit-sim."""
    from ..scenario import DRILL_DIR

    path = Path(ref)
    if path.is_file() or path.name != str(ref):
        return path
    for cand in (DRILL_DIR / path.name, DRILL_DIR / f"{path.name}.csv"):
        if cand.is_file():
            return cand
    return path


def read_log(path: str | Path, scenario) -> list[Observation]:
    """The observed drill log, checked against the scenario: every problem names its row."""
    from .places import unit_names

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"observed log {str(path)!r} does not exist; shipped drill logs: "
                         f"{', '.join(shipped_logs()) or '(none)'}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"observed log {str(path)!r}: not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path}: the file is empty; the header row must be "
                         f"{','.join(COLUMNS)}")
    names = [h.strip().casefold() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InputError(f"{path}: row 1 (header): missing column "
                         f"{', '.join(repr(c) for c in missing)}; the header must have "
                         f"{', '.join(COLUMNS)} (found {', '.join(repr(h) for h in header)})")
    col = {c: names.index(c) for c in COLUMNS}
    incidents = {s.name.casefold(): s for s in scenario.emergency.scripted if s.name}
    units = {n.casefold(): n for n in unit_names(scenario)}
    seen: dict[tuple, int] = {}
    out = []
    for row_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed

        def bad(problem: str, row_no=row_no):
            return InputError(f"{path}: row {row_no}: {problem}")

        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        inc, unit, stage, stamp = (row[col[c]].strip() for c in COLUMNS)
        spec = incidents.get(inc.casefold())
        if spec is None:
            known = ", ".join(repr(s.name) for s in incidents.values()) or "(none)"
            raise bad(f"unknown incident {inc!r}; the scenario's scripted incidents: {known}")
        key = re.sub(r"[\s-]+", "_", stage.casefold())
        if key not in STAGES:
            raise bad(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        if key == "call":
            if unit:
                raise bad(f"the call row has unit {unit!r}; leave unit empty for the call")
            name = ""
        else:
            if not unit:
                raise bad(f"unit is empty; stage {key!r} needs a unit")
            name = units.get(unit.casefold())
            if name is None:
                raise bad(f"unknown unit {unit!r}; units are named as in incidents.csv, e.g. "
                          f"{', '.join(repr(u) for u in list(units.values())[:3])}")
        try:
            clock = _timestamp(stamp, scenario.date)
        except ValueError as exc:
            raise bad(f"bad timestamp {exc}") from None
        ident = (spec.name, name, key)
        if ident in seen:
            raise bad(f"the same incident, unit and stage as row {seen[ident]}")
        seen[ident] = row_no
        out.append(Observation(row_no, spec.name, name, key, clock))
    if not out:
        raise InputError(f"{path}: no observations after the header row")
    _check_causal(out, scenario, path)
    return out


def _check_causal(observations: list[Observation], scenario, path: Path) -> None:
    """Times must follow the stages: no unit is dispatched before its incident's call, sets off
    before its dispatch, and so on; the message names the row and the earlier one."""
    order = {s: i for i, s in enumerate(STAGES)}
    calls = {o.incident: o for o in observations if o.stage == "call"}
    scripted = {s.name: s.at for s in scenario.emergency.scripted}
    by_unit: dict[tuple[str, str], list[Observation]] = {}
    for o in observations:
        if o.stage != "call":
            by_unit.setdefault((o.incident, o.unit), []).append(o)
    for (incident, _unit), group in by_unit.items():
        group.sort(key=lambda o: order[o.stage])
        call = calls.get(incident)
        prev_s, prev_what = (call.clock_s, f"the call at row {call.row}") if call else (
            scripted.get(incident), "the scenario's scripted call")
        for o in group:
            if prev_s is not None and o.clock_s < prev_s:
                raise InputError(
                    f"{path}: row {o.row}: stage {o.stage!r} at {format_clock(o.clock_s)} = "
                    f"{o.clock_s:g} s comes before {prev_what} ({format_clock(prev_s)}); the "
                    f"stages of a unit must follow in time: {', '.join(STAGES)}")
            prev_s, prev_what = o.clock_s, f"its {o.stage!r} at row {o.row}"


# ---- the runs -----------------------------------------------------------------------------------
def seeds_for(scenario, n: int, base_seed: int | None = None) -> list[int]:
    """The review's seeds: the what-if runner's n replicate seeds of the base seed (the
    scenario's unless given), as compare and sweep use them."""
    from ..whatif.runner import replicate_seeds

    return replicate_seeds(scenario.seed if base_seed is None else base_seed, n)


def _stage_key(incident: str, unit: str, stage: str) -> str:
    return f"{incident}\x1f{unit}\x1f{stage}"


@dataclass(frozen=True)
class StageTimes:
    """The probe the what-if runner calls on each finished run (in its worker): per scripted
    incident the call time, and per wanted (incident, unit, stage) the stage's time after the
    call, absent when the unit never reached it."""

    wanted: tuple[tuple[str, str, str], ...]

    def __call__(self, model, metrics) -> dict[str, float | None]:
        incidents = {i.name: i for i in model.emergency.incidents if i.scripted}
        out: dict[str, float | None] = {_CALL + n: i.call_s for n, i in incidents.items()}
        for inc_name, unit, stage in self.wanted:
            out[_TIME + _stage_key(inc_name, unit, stage)] = _stage_time(
                incidents.get(inc_name), unit, stage)
        return out


def _stage_time(inc, unit: str, stage: str) -> float | None:
    """The unit's first assignment to the incident: the stage's time after the call."""
    if inc is None:
        return None
    recs = sorted((r for r in inc.assignments if r.unit.name == unit), key=lambda r: r.dispatch_s)
    t = getattr(recs[0], STAGE_FIELD[stage]) if recs else None
    return None if t is None else float(t) - inc.call_s


def _run_record(seed: int, kpis: dict[str, float]) -> dict:
    """One run's probe figures, back from the runner's flat KPI names: seed, calls, times."""
    calls = {k[len(_CALL):]: v for k, v in kpis.items() if k.startswith(_CALL)}
    times = {k[len(_TIME):]: v for k, v in kpis.items() if k.startswith(_TIME)}
    return {"seed": seed, "calls": calls, "times": times}


def simulate(scenario, seeds: list[int], wanted: list[tuple[str, str, str]],
             backend=None) -> list[dict]:
    """Run the scenario once per seed on a what-if runner backend (default: local processes,
    one per CPU); one record per seed, in the seeds' order, whatever runs them and the order
    the runs finish in."""
    from ..whatif.runner import Job, make_backend

    backend = backend or make_backend()
    probe = StageTimes(tuple(wanted))
    jobs = [Job(i, scenario, s, probe) for i, s in enumerate(seeds)]
    done = {job.key: kpis for job, kpis in backend.run(jobs)}
    return [_run_record(job.seed, done[job.key]) for job in jobs]


def compare(observations: list[Observation], scenario, runs: list[dict]) -> list[Comparison]:
    calls = {o.incident: o.clock_s for o in observations if o.stage == "call"}
    for s in scenario.emergency.scripted:
        calls.setdefault(s.name, s.at)
    out = []
    for o in observations:
        if o.stage == "call":
            continue
        key = _stage_key(o.incident, o.unit, o.stage)
        sim = [r["times"][key] for r in runs if r["times"].get(key) is not None]
        out.append(Comparison(o.incident, o.unit, o.stage, o.clock_s,
                              o.clock_s - calls[o.incident], sim, len(runs)))
    return out


# ---- the review ---------------------------------------------------------------------------------
def _mmss(seconds: float | None, missing: str = "-") -> str:
    return missing if seconds is None else format_mmss(seconds)


def band_note(runs: int) -> str:
    """A plain warning when the 5-95% band rests on too few runs to be more than rough; '' from
    ROUGH_BELOW runs on."""
    if runs >= ROUGH_BELOW:
        return ""
    return (f"warning: the 5-95% band comes from only {runs} run{'s' if runs != 1 else ''}; "
            f"from fewer than {ROUGH_BELOW} it is rough (little more than the lowest and highest "
            f"run), so take a flag as a prompt to look, not a finding; use --seeds "
            f"{ROUGH_BELOW} or more for a review to brief from")


def table_rows(comparisons: list[Comparison]) -> list[list]:
    """drill_table.csv's rows: times after the call in mm:ss, empty where there is none."""
    rows = []
    for c in comparisons:
        band = c.band or (None, None)
        rows.append([c.incident, c.unit, c.stage, format_clock(c.observed_clock_s),
                     _mmss(c.observed_s, ""), _mmss(c.median, ""), _mmss(band[0], ""),
                     _mmss(band[1], ""), len(c.sim), c.runs, c.flag])
    return rows


def print_table(comparisons: list[Comparison], header: str, runs: int) -> None:
    """The review on the console: the table in mm:ss, how many stages lie outside, and the
    warning when the band rests on few runs."""
    print(header)
    print("times are mm:ss after the incident's call; runs: runs where the unit reached the "
          "stage")
    heads = ["incident", "unit", "stage", "observed", "sim median", "sim 5-95%", "runs", "flag"]
    lines = []
    for c in comparisons:
        band = c.band
        lines.append([c.incident, c.unit, c.stage, _mmss(c.observed_s), _mmss(c.median),
                      f"{_mmss(band[0])} to {_mmss(band[1])}" if band else "-",
                      f"{len(c.sim)}/{c.runs}", f"<< {c.flag.upper()}" if c.flag else ""])
    widths = [max(len(h), *(len(str(r[i])) for r in lines)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip())
    for r in lines:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip())
    n_out = sum(bool(c.flag) for c in comparisons)
    print(f"{n_out} of {len(comparisons)} observed stages outside the simulated band")
    if band_note(runs):
        print(band_note(runs))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unit"


def _load(scenario_ref: str, log: str | Path, overrides: list[str], seeds: int):
    """The scenario and its checked log, or an InputError before anything runs or is written."""
    from ..scenario import load_scenario

    if seeds < 1:
        raise InputError(f"--seeds {seeds}: must be 1 or more")
    scenario = load_scenario(scenario_ref, overrides)
    if not scenario.emergency.enabled:
        raise InputError(f"scenario {scenario.name!r} has no emergency layer "
                         "(emergency.enabled = false); a drill needs one")
    observations = read_log(log, scenario)
    logged = {o.incident for o in observations}
    for s in scenario.emergency.scripted:
        if s.name in logged and not scenario.start <= s.at < scenario.end:
            raise InputError(f"incident {s.name!r} is called at {format_clock(s.at)}, outside "
                             f"the run ({format_clock(scenario.start)}-"
                             f"{format_clock(scenario.end)})")
    return scenario, observations


def _write(tmp: Path, scenario, log: str | Path, overrides: list[str], base_seed: int,
           seed_list: list[int], runs: list[dict], comparisons: list[Comparison]) -> str:
    """The table, a chart per unit and drill.json into the folder being written; returns the
    line that names the runs."""
    from .plots import draw_drill_timeline

    against = f"{len(runs)} run{'s' if len(runs) != 1 else ''} (base seed {base_seed})"
    rough = " - a rough band" if band_note(len(runs)) else ""
    with open(tmp / "drill_table.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([TABLE_COLUMNS, *table_rows(comparisons)])
    charts = {}
    for unit in sorted({c.unit for c in comparisons}):
        name = f"timeline_{slug(unit)}.png"
        draw_drill_timeline([c for c in comparisons if c.unit == unit], tmp / name, title=unit,
                            subtitle=f"{scenario.name}: observed against {against}{rough}")
        charts[unit] = name
    summary = {"scenario": scenario.name, "scenario_file": scenario.source_path,
               "overrides": overrides, "observed_log": str(log), "base_seed": base_seed,
               "seeds": seed_list,
               "seed_rule": "SeedSequence(base_seed, spawn_key=(replicate,)).generate_state(1)[0]",
               "sim_calls": [r["calls"] for r in runs], "charts": charts,
               "outside_band": sum(bool(c.flag) for c in comparisons),
               "compared": len(comparisons), "time_format": "mm:ss after the incident's call",
               "band_note": band_note(len(runs))}
    (tmp / "drill.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return f"{scenario.name}: observed log {Path(log).name} against {against}"


def review(scenario_ref: str, log: str | Path, *, seeds: int = 5, out: str | Path | None = None,
           overrides: list[str] | None = None, base_seed: int | None = None,
           workers: int | None = None, scheduler: str | None = None,
           force: bool = False) -> Path:
    """Read and check the log, run the seeds on the what-if runner, write the table and the
    charts into `out` (atomically: complete or absent), print the table; returns the output
    folder."""
    from ..atomic import atomic_dir
    from ..ownership import check_output_folder, run_key, variant_suffix
    from ..whatif.runner import make_backend

    overrides = list(overrides or [])
    backend = make_backend(workers=workers, scheduler=scheduler)
    log = drill_log_path(log)
    scenario, observations = _load(scenario_ref, log, overrides, seeds)
    key = run_key("drill", scenario.source_path, str(log), overrides, seeds, base_seed)
    default = out is None
    out = Path(out) if out else Path("outputs") / (
        f"{slug(scenario.name)}-drill{variant_suffix(overrides)}")
    replace = check_output_folder(out, force=force, key=key, default=default)
    wanted = sorted({(o.incident, o.unit, o.stage) for o in observations if o.stage != "call"})
    base = scenario.seed if base_seed is None else base_seed
    seed_list = seeds_for(scenario, seeds, base)
    runs = simulate(scenario, seed_list, wanted, backend)
    comparisons = compare(observations, scenario, runs)
    with atomic_dir(out, replace=replace, command="drill", key=key) as tmp:
        header = _write(tmp, scenario, log, overrides, base, seed_list, runs, comparisons)
        print_table(comparisons, header, len(runs))
    print(f"drill review written to {out}/")
    return out
