"""Every bad input: exit code 2, one clear message naming the field and the value, no
traceback, and nothing written or removed in the working folder.

Each case runs the command line in process (`sim.cli.main`) in a fresh folder holding only the
case's own files; a handful run through a real subprocess to show that no traceback reaches
the terminal. A property test writes random values into random places of shipped scenarios
and checks that loading raises nothing but InputError.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import networkx as nx
import pytest
from conftest import _grid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import InputError
from sim.scenario import SCENARIO_DIR, validate_scenario

ROOT = Path(__file__).resolve().parent.parent
SOM1 = str(SCENARIO_DIR / "som1_day.toml")
DRILL_LOG = (SCENARIO_DIR / "drills" / "hico_fire_drill_observed.csv").read_text(encoding="utf-8")


# ---- files the cases write -------------------------------------------------------------------
def grid(**change) -> str:
    """The test grid network (tests/conftest.py) as JSON, with a change applied by a function."""
    spec = copy.deepcopy(_grid())
    for fn in change.values():
        fn(spec)
    return json.dumps(spec)


def graphml(node_attrs=None, edge_attrs=None, graph_attrs=None) -> str:
    """A two-node two-way GraphML road as osmnx writes it, with attributes changed."""
    g = nx.MultiDiGraph(name="two nodes")
    g.graph.update(graph_attrs or {})
    g.add_node("1", y=35.85, x=129.21)
    g.add_node("2", y=35.851, x=129.212)
    for nid, attrs in (node_attrs or {}).items():
        g.nodes[nid].update(attrs)
    for u, v in (("1", "2"), ("2", "1")):
        g.add_edge(u, v, highway="primary", lanes="2", maxspeed="50", length="200",
                   **(edge_attrs or {}))
    from io import BytesIO

    buf = BytesIO()
    nx.write_graphml(g, buf)
    return buf.getvalue().decode("utf-8")


def graphml_text(**replace) -> str:
    """A GraphML file with attribute text replaced as written (values networkx would refuse
    to write)."""
    text = graphml(edge_attrs={"lanes_per_direction": 1}, graph_attrs={
        "summit_sim_places": "[]"})
    for old, new in replace.values():
        text = text.replace(old, new)
    return text


OSM_OK = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
 <node id="1" lat="35.85" lon="129.21"/>
 <node id="2" lat="35.851" lon="129.212"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>
</osm>
"""


def log_with(old: str, new: str) -> str:
    assert old in DRILL_LOG
    return DRILL_LOG.replace(old, new, 1)


def toml_scenario(body: str) -> str:
    return f'base = "{SOM1}"\n' + body


# ---- the corpus --------------------------------------------------------------------------------
# (id, argv, files written before the run, substrings the message must hold: field, value)
CASES: list[tuple[str, list[str], dict[str, str | bytes], tuple[str, ...]]] = []


def case(cid, argv, expect, files=None):
    CASES.append((cid, argv, files or {}, expect))


# --set on a shipped scenario: every number finite and within its range, types, paths
SET_CASES = [
    ("traffic.demand_scale=inf", "traffic.demand_scale", "inf"),
    ("traffic.demand_scale=nan", "traffic.demand_scale", "nan"),
    ("traffic.demand_scale=-inf", "traffic.demand_scale", "-inf"),
    ("traffic.demand_scale=11", "traffic.demand_scale", "11"),
    ("traffic.demand_scale=-1", "traffic.demand_scale", "-1"),
    ('traffic.demand_scale="lots"', "traffic.demand_scale", "lots"),
    ("traffic.demand_scale=[1]", "traffic.demand_scale", "[1]"),
    ("traffic.demand_scale={a=1}", "traffic.demand_scale", "'a'"),
    ("emergency.rates.per_1000_per_day=inf", "emergency.rates.per_1000_per_day", "inf"),
    ("emergency.rates.per_1000_per_day=1e9", "emergency.rates.per_1000_per_day", "1000000000"),
    ("end=inf", "end", "inf"),
    ("end=nan", "end", "nan"),
    ("end=1e12", "end", "1000000000000"),
    ('end="25:99"', "end", "25:99"),
    ("start=-5", "start", "-5"),
    ('start="noon"', "start", "noon"),
    ("end=true", "end", "True"),
    ("shuttles.fleet_scale=1e7", "shuttles.fleet_scale", "10000000"),
    ("shuttles.fleet_scale=0", "shuttles.fleet_scale", "0"),
    ("shuttles.fleet_scale=inf", "shuttles.fleet_scale", "inf"),
    ("traffic.engine_tick_s=1e300", "traffic.engine_tick_s", "1e+300"),
    ("traffic.engine_tick_s=0", "traffic.engine_tick_s", "0"),
    ("traffic.engine_tick_s=1e-9", "traffic.engine_tick_s", "1e-09"),
    ("emergency.call_handling_s=inf", "emergency.call_handling_s", "inf"),
    ("emergency.call_handling_s=1e9", "emergency.call_handling_s", "1000000000"),
    ("emergency.coverage_interval_min=1e-9", "emergency.coverage_interval_min", "1e-09"),
    ("emergency.turnout_sigma=nan", "emergency.turnout_sigma", "nan"),
    ("emergency.er_stay_hours.1=inf", "emergency.er_stay_hours.1", "inf"),
    ("seed=-5", "seed", "-5"),
    ("seed=9223372036854775808", "seed", "9223372036854775808"),
    ("seed=1.5", "seed", "1.5"),
    ('seed="one"', "seed", "one"),
    ("delegates.total=-1", "delegates.total", "-1"),
    ("delegates.total=100000000000", "delegates.total", "100000000000"),
    ("delegates.total=2.5", "delegates.total", "2.5"),
    ("delegates.walk_speed_kmh=inf", "delegates.walk_speed_kmh", "inf"),
    ("delegates.roles.delegate=inf", "delegates.roles.delegate", "inf"),
    ("delegates.party_size.leader=0", "delegates.party_size.leader", "0"),
    ("traffic.truck_share=1.5", "traffic.truck_share", "1.5"),
    ("traffic.capacity_scale=0", "traffic.capacity_scale", "0"),
    ("traffic.capacity_scale=1e308", "traffic.capacity_scale", "1e+308"),
    ("traffic.reroute_interval_s=0", "traffic.reroute_interval_s", "0"),
    ("traffic.signal_cycle_s=1e6", "traffic.signal_cycle_s", "1000000"),
    ("traffic.speed_factors.motorway=0.9", "traffic.speed_factors", "motorway"),
    ("traffic.speed_factors.national=2", "traffic.speed_factors.national", "2"),
    ("traffic.speed_factors.national=0", "traffic.speed_factors.national", "0"),
    ('traffic.signal_plans=[{start="23:00", end="06:00", cycle_s=1e6, green_ratio=0.5}]',
     "traffic.signal_plans[0].cycle_s", "1000000"),
    ('traffic.signal_plans=[{start="23:00", end="06:00", cycle_s=60, green_ratio=1.5}]',
     "traffic.signal_plans[0].green_ratio", "1.5"),
    ('traffic.signal_plans=[{start="23:00", end="23:00", flashing=true}]',
     "traffic.signal_plans[0]", "23:00"),
    ('traffic.signal_plans=[{start="11pm", end="06:00", flashing=true}]',
     "traffic.signal_plans[0].start", "11pm"),
    ("shuttles.lines.0.headway_min=0", "shuttles.lines[0].headway_min", "0"),
    ("shuttles.lines.0.vehicles=10000000", "shuttles.lines[0].vehicles", "10000000"),
    ("shuttles.lines.0.seats=-3", "shuttles.lines[0].seats", "-3"),
    ("shuttles.lines.0.start=inf", "shuttles.lines[0].start", "inf"),
    ('shuttles.lines.0.stops=["HICO"]', "shuttles.lines[0].stops", "HICO"),
    ("venues.0.gates=0", "venues[0].gates", "0"),
    ("venues.0.throughput_per_gate_per_hour=nan", "venues[0].throughput_per_gate_per_hour",
     "nan"),
    ("weather=hail", "weather.condition", "hail"),
    ("weather=5", "weather", "5"),
    ("weather.factors.snow.speed=inf", "weather.factors.snow.speed", "inf"),
    ("weather.factors.snow=5", "weather.factors.snow", "5"),
    ("weather.factors=[1]", "weather.factors", "[1]"),
    ("emergency.enabled=3", "emergency.enabled", "3"),
    ('emergency.dispatch_policy="fastest"', "emergency.dispatch_policy", "fastest"),
    ("closures=5", "closures", "5"),
    ("no_such_field=1", "no_such_field", "1"),
    ("traffic.demand_scal=1", "traffic.demand_scal", "1"),
    ("shuttles.lines.99.vehicles=1", "shuttles.lines.99", "99"),
    ("shuttles.lines.x.vehicles=1", "shuttles.lines.x", "'x'"),
    ("name.first=1", "name", "SOM1 meeting day"),
    ("shuttles.lines.0.name.x=1", "shuttles.lines.0.name", "'"),
    ("traffic..demand_scale=1", "traffic..demand_scale", "traffic..demand_scale"),
    ("traffic.demand_scale", "traffic.demand_scale", "path=value"),
]
for i, (assignment, field, value) in enumerate(SET_CASES):
    case(f"set-{i}-{assignment[:30]}", ["validate", "som1_day", "--set", assignment],
         (field, value))

# the same checks through `run` (nothing may start)
for assignment, field, value in [("traffic.demand_scale=inf", "traffic.demand_scale", "inf"),
                                 ("shuttles.fleet_scale=1e7", "shuttles.fleet_scale",
                                  "10000000"),
                                 ("end=inf", "end", "inf")]:
    case(f"run-set-{assignment}", ["run", "som1_day", "--quiet", "--set", assignment],
         (field, value))

# scenario files: fields, types, encodings, base chains
FILE_CASES = [
    ("seed-negative", toml_scenario("seed = -5\n"), ("seed", "-5")),
    ("seed-float", toml_scenario("seed = 1.5\n"), ("seed", "1.5")),
    ("end-inf", toml_scenario("end = inf\n"), ("end", "inf")),
    ("end-before-start", toml_scenario('start = "10:00"\nend = "09:00"\n'), ("end", "32400")),
    ("demand-nan", toml_scenario("[traffic]\ndemand_scale = nan\n"),
     ("traffic.demand_scale", "nan")),
    ("unknown-key", toml_scenario("[traffic]\ndemand_scael = 1\n"),
     ("traffic.demand_scael", "1")),
    ("unknown-table", toml_scenario("[trafic]\ndemand_scale = 1\n"), ("trafic", "demand_scale")),
    ("zone-lat", toml_scenario('[[traffic.zones]]\nname = "z"\npopulation = 1\njobs = 1\n'
                               'lat = 1000\nlon = 129\n'), ("traffic.zones[0].lat", "1000")),
    ("zone-lon-nan", toml_scenario('[[traffic.zones]]\nname = "z"\npopulation = 1\njobs = 1\n'
                                   'lat = 35\nlon = nan\n'), ("traffic.zones[0].lon", "nan")),
    ("profile-inf", toml_scenario("[traffic.profile]\nhourly = [inf" + ", 0" * 23 + "]\n"),
     ("traffic.profile.hourly[0]", "inf")),
    ("closure-window", toml_scenario('[[closures]]\nroad = "Bomun-ro"\nstart = "10:00"\n'
                                     'end = 1e99\n'), ("closures[0].end", "1e+99")),
    ("name-int", 'name = 5\n', ("name", "5")),
    ("name-missing", 'description = "x"\n', ("name", "missing")),
    ("base-missing", 'name = "x"\nbase = "no_such_base.toml"\n', ("base", "no_such_base.toml")),
    ("base-int", 'name = "x"\nbase = 5\n', ("base", "5")),
    ("base-list", 'name = "x"\nbase = ["a"]\n', ("base", "['a']")),
    ("base-self", 'name = "x"\nbase = "scenario.toml"\n', ("base", "scenario.toml")),
    ("base-folder", 'name = "x"\nbase = "."\n', ("base", "'.'")),
    ("base-unknown-name", 'name = "x"\nbase = "som2_day"\n', ("base", "som2_day", "som1_day")),
    ("not-toml", 'name = "x\n[[[', ("scenario.toml", "not valid TOML")),
    ("empty", "", ("name", "missing")),
]
for cid, body, expect in FILE_CASES:
    case(f"file-{cid}", ["validate", "scenario.toml"], expect, {"scenario.toml": body})
case("file-latin1", ["validate", "scenario.toml"], ("scenario.toml", "UTF-8"),
     {"scenario.toml": 'name = "caf\xe9"\n'.encode("latin-1")})
case("file-random-bytes", ["run", "scenario.toml", "--quiet"], ("scenario.toml", "UTF-8"),
     {"scenario.toml": bytes(range(128, 256)) * 3})
case("file-base-cycle", ["validate", "a.toml"], ("base", "b.toml"),
     {"a.toml": 'name = "a"\nbase = "b.toml"\n', "b.toml": 'name = "b"\nbase = "a.toml"\n'})
case("file-base-not-toml", ["validate", "a.toml"], ("base", "b.toml"),
     {"a.toml": 'name = "a"\nbase = "b.toml"\n', "b.toml": "this is not = = toml"})
case("file-base-latin1", ["validate", "a.toml"], ("base", "UTF-8"),
     {"a.toml": 'name = "a"\nbase = "b.toml"\n', "b.toml": b'name = "\xe9"\n'})
case("file-missing", ["validate", "no_such.toml"], ("scenario file", "no_such.toml"))
case("file-is-folder", ["run", "sub", "--quiet"], ("scenario file", "sub"), {"sub/x.txt": "x"})

# emergency data files
EMERGENCY = [
    ("list", "[1, 2]", ("emergency.data", "list")),
    ("station-no-place", '{"stations": [{"name": "A"}]}', ("stations[0].place", "missing")),
    ("stations-dict", '{"stations": {"a": 1}}', ("stations", "{'a': 1}")),
    ("units-negative", '{"stations": [{"name": "A", "place": "HICO", "units": {"pumper": -1}}]}',
     ("stations[0].units.pumper", "-1")),
    ("unit-type", '{"stations": [{"name": "A", "place": "HICO", "units": {"tank": 1}}]}',
     ("stations[0].units.tank", "'tank'")),
    ("beds-nan", '{"hospitals": [{"place": "HICO", "er_beds": NaN}]}',
     ("hospitals[0].er_beds", "nan")),
    ("heli-speed", '{"helicopters": [{"name": "H", "base": "x", "cruise_kmh": 1e9}]}',
     ("helicopters[0].cruise_kmh", "1000000000")),
    ("crew", '{"default_crew": {"pumper": "three"}}', ("default_crew.pumper", "three")),
    ("bad-json", '{"stations": [', ("emergency.data", "not valid JSON")),
]
for cid, body, expect in EMERGENCY:
    case(f"emergency-data-{cid}", ["validate", "city_emergency", "--set",
                                   f'emergency.data="{"{CWD}"}/data.json"'], expect,
         {"data.json": body})
case("emergency-data-latin1", ["validate", "city_emergency", "--set",
                               'emergency.data="{CWD}/data.json"'], ("emergency.data", "UTF-8"),
     {"data.json": b'{"notes": "\xe9"}'})
case("emergency-data-missing", ["validate", "city_emergency", "--set",
                                'emergency.data="{CWD}/none.json"'],
     ("emergency.data", "none.json"))
case("emergency-scripted-patients", ["validate", "hico_fire_drill", "--set",
                                     "emergency.scripted.0.patients=-1"],
     ("emergency.scripted[0].patients", "-1"))
case("emergency-staging-end", ["validate", "hico_fire_drill", "--set",
                               "emergency.staging.0.end=1e30"],
     ("emergency.staging[0].end", "1e+30"))
case("emergency-evac-others", ["validate", "hico_fire_drill", "--set",
                               "emergency.evacuations.0.others=1e12"],
     ("emergency.evacuations[0].others", "1000000000000"))

# network files: the project's JSON
NET_JSON = [
    ("speed-huge", dict(f=lambda s: s["roads"][0].update(speed_kmh=1e308)),
     ("roads[0].speed_kmh", "1e+308")),
    ("capacity-huge", dict(f=lambda s: s["roads"][0].update(capacity_vph_per_lane=1e308)),
     ("roads[0].capacity_vph_per_lane", "1e+308")),
    ("lanes-huge", dict(f=lambda s: s["roads"][0].update(lanes=10**9)),
     ("roads[0].lanes", "1000000000")),
    ("lanes-text", dict(f=lambda s: s["roads"][0].update(lanes="two")),
     ("roads[0].lanes", "two")),
    ("speed-zero", dict(f=lambda s: s["roads"][1].update(speed_kmh=0)), ("speed 0", "Hwarang")),
    ("lat-1000", dict(f=lambda s: s["nodes"][0].update(lat=1000)), ("nodes[0].lat", "1000")),
    ("lon-string", dict(f=lambda s: s["nodes"][0].update(lon="east")), ("nodes[0].lon", "east")),
    ("class", dict(f=lambda s: s["roads"][0].update({"class": "highway"})),
     ("roads[0].class", "highway")),
    ("format", dict(f=lambda s: s.update(format="other")), ("format", "other")),
    ("version", dict(f=lambda s: s.update(version=2)), ("version", "2")),
    ("unknown-key", dict(f=lambda s: s.update(colour="red")), ("colour", "red")),
    ("unknown-node", dict(f=lambda s: s["roads"][0]["path"].append("n99")),
     ("roads[0]", "n99")),
    ("place-kind", dict(f=lambda s: s["places"][0].update(kind="castle")),
     ("places[0].kind", "castle")),
    ("shape-point", dict(f=lambda s: s["roads"][0]["path"].__setitem__(2, [95.0, 129.0])),
     ("roads[0].path", "95")),
]
for cid, change, expect in NET_JSON:
    case(f"net-json-{cid}", ["network", "info", "--network", "net.json"], expect,
         {"net.json": grid(**change)})
case("net-json-nan", ["network", "info", "--network", "net.json"], ("nodes[0].lat", "nan"),
     {"net.json": grid().replace('"lat": 35.85,', '"lat": NaN,', 1)})
case("net-json-latin1", ["network", "info", "--network", "net.json"], ("net.json", "UTF-8"),
     {"net.json": b'{"name": "\xe9"}'})
case("net-json-broken", ["network", "route", "--network", "net.json", "a", "b"],
     ("net.json", "line 1"), {"net.json": '{"nodes": ['})
case("net-json-list", ["network", "info", "--network", "net.json"], ("net.json", "[1]"),
     {"net.json": "[1]"})
case("net-suffix", ["network", "info", "--network", "net.txt"], ("net.txt", ".txt"),
     {"net.txt": "x"})
case("net-missing", ["network", "info", "--network", "none.json"], ("network file", "none.json"))
case("net-route-unknown", ["network", "route", "HICO", "Atlantis"], ("place", "Atlantis"))
case("net-export-format", ["network", "export", "--format", "kml", "--out", "x.kml"],
     ("--format", "kml"))

# GraphML
GRAPHML = [
    ("lanes-two", graphml(edge_attrs={"lanes_per_direction": "two"}),
     ("lanes_per_direction", "two")),
    ("lanes-zero", graphml(edge_attrs={"lanes_per_direction": "0"}),
     ("lanes_per_direction", "0")),
    ("lat-1000", graphml(node_attrs={"1": {"y": 1000.0}}), ("lat", "1000")),
    ("lon-nan", graphml(node_attrs={"1": {"x": float("nan")}}), ("lon", "nan")),
    ("lat-text", graphml(node_attrs={"1": {"y": "north"}}), ("node 1", "north")),
    ("speed-huge", graphml(edge_attrs={"speed_kmh": 1e308}), ("speed", "1e+308")),
    ("capacity-huge", graphml(edge_attrs={"capacity_vph": 1e308}), ("capacity", "1e+308")),
    ("road-class", graphml(edge_attrs={"road_class": "motorway"}), ("road_class", "motorway")),
    ("places-bad-json", graphml(graph_attrs={"summit_sim_places": "[{"}),
     ("summit_sim_places", "[{")),
    ("places-unknown-key", graphml(graph_attrs={"summit_sim_places": json.dumps(
        [{"name": "A", "kind": "venue", "lat": 35.85, "lon": 129.21, "colour": "red"}])}),
     ("summit_sim_places", "colour")),
    ("places-lat", graphml(graph_attrs={"summit_sim_places": json.dumps(
        [{"name": "A", "kind": "venue", "lat": 1000, "lon": 129.21}])}),
     ("summit_sim_places", "1000")),
    ("places-not-list", graphml(graph_attrs={"summit_sim_places": '{"a": 1}'}),
     ("summit_sim_places", "a")),
    ("features-bad-json", graphml(graph_attrs={"summit_sim_features": "nope"}),
     ("summit_sim_features", "nope")),
    ("not-xml", "<graphml><graph", ("GraphML", "net.graphml")),
    ("undirected", graphml().replace('edgedefault="directed"', 'edgedefault="undirected"'),
     ("GraphML", "undirected")),
]
for cid, text, expect in GRAPHML:
    case(f"graphml-{cid}", ["network", "info", "--network", "net.graphml"], expect,
         {"net.graphml": text})
case("graphml-latin1", ["network", "info", "--network", "net.graphml"], ("net.graphml", "GraphML"),
     {"net.graphml": bytes(range(128, 256))})

# OpenStreetMap XML
OSM = [
    ("lat-1000", OSM_OK.replace('lat="35.85"', 'lat="1000"'), ("node 1", "1000")),
    ("lon-nan", OSM_OK.replace('lon="129.21"', 'lon="nan"'), ("net.osm", "cannot be read")),
    ("not-xml", "<osm><node", ("OSM file", "net.osm")),
    ("no-ways", OSM_OK.split(" <way")[0] + "</osm>\n", ("OSM file", "no roads")),
]
for cid, text, expect in OSM:
    case(f"osm-{cid}", ["network", "info", "--network", "net.osm"], expect, {"net.osm": text})
case("osm-random-bytes", ["network", "info", "--network", "net.osm"], ("OSM file", "net.osm"),
     {"net.osm": bytes(range(128, 256))})

# observed drill logs
DRILL = [
    ("dispatch-before-call", log_with("command 1,dispatch,10:41:00", "command 1,dispatch,10:39:00"),
     ("row 3", "dispatch")),
    ("on-scene-before-dispatch", log_with("pumper 1,on_scene,10:42:35",
                                          "pumper 1,on_scene,10:40:35"),
     ("row 7", "on_scene")),
    ("hospital-before-transport", log_with("ambulance 1,hospital,11:17:35",
                                           "ambulance 1,hospital,11:00:00"),
     ("row 25", "hospital")),
    ("unknown-stage", log_with("pumper 1,en_route", "pumper 1,parked"), ("row 6", "parked")),
    ("unknown-unit", log_with("HICO staging post pumper 1,en_route", "HICO tank 9,en_route"),
     ("row 6", "HICO tank 9")),
    ("unknown-incident", log_with("HICO casualties (drill),,call", "Nowhere,,call"),
     ("row 21", "Nowhere")),
    ("bad-time", log_with("10:42:20", "10:99:20"), ("row 6", "10:99:20")),
    ("inf-time", log_with("10:42:20", "inf"), ("row 6", "inf")),
    ("other-date", log_with("10:42:20", "2025-11-01 10:42:20"), ("row 6", "2025-11-01")),
    ("duplicate", DRILL_LOG + DRILL_LOG.splitlines()[2] + "\n", ("row 30", "row 3")),
    ("missing-column", DRILL_LOG.replace("timestamp", "time", 1), ("row 1", "timestamp")),
    ("empty", "", ("log.csv", "empty")),
    ("call-with-unit", log_with(",,call,10:40:00", ",HICO staging post pumper 1,call,10:40:00"),
     ("row 2", "HICO staging post pumper 1")),
]
for cid, text, expect in DRILL:
    case(f"drill-{cid}", ["drill", "hico_fire_drill", "--observed", "log.csv", "--seeds", "1"],
         expect, {"log.csv": text})
case("drill-latin1", ["drill", "hico_fire_drill", "--observed", "log.csv"], ("log.csv", "UTF-8"),
     {"log.csv": DRILL_LOG.replace("note", "n\xf6te").encode("latin-1")})
case("drill-missing-log", ["drill", "hico_fire_drill", "--observed", "none.csv"],
     ("observed log", "none.csv"))
case("drill-seeds-0", ["drill", "hico_fire_drill", "--observed", "log.csv", "--seeds", "0"],
     ("--seeds", "0"), {"log.csv": DRILL_LOG})
case("drill-seeds-huge", ["drill", "hico_fire_drill", "--observed", "log.csv", "--seeds",
                          "99999999"], ("--seeds", "99999999"), {"log.csv": DRILL_LOG})
case("drill-no-emergency", ["drill", "som1_day", "--observed", "log.csv"],
     ("emergency.enabled", "false"), {"log.csv": DRILL_LOG})

# every command's options
OPTIONS = [
    (["run", "som1_day", "--seed", "-1"], ("--seed", "-1")),
    (["run", "som1_day", "--seed", "x"], ("--seed", "x")),
    (["run", "som1_day", "--seed", "9223372036854775808"], ("--seed", "9223372036854775808")),
    (["run", "som1_day", "--set", "nothing"], ("--set", "nothing")),
    (["run", "som1_day", "--set", "shuttles.fleets=200"], ("shuttles.fleets", "200")),
    (["run", "som1_day", "--set", "shuttles.fleet=0"], ("shuttles.fleet", "0")),
    (["run", "som1_day", "--network", "none.json"], ("--network", "none.json")),
    (["validate", "som1_day", "--network", "none.json"], ("--network", "none.json")),
    (["viz", "som1_day", "--set", "traffic.capacity_per_lane=-1"],
     ("traffic.capacity_per_lane", "-1")),
    (["drill", "hico_fire_drill", "--observed", "none.csv", "--workers", "0"],
     ("--workers", "0")),
    (["drill", "hico_fire_drill", "--observed", "log.csv", "--scheduler", "localhost"],
     ("--scheduler", "localhost")),
    (["drill", "hico_fire_drill", "--observed", "none.csv", "--seed", "-1"], ("--seed", "-1")),
    (["compare", "som1_day", "som1_day", "--seed", "-1"], ("--seed", "-1")),
    (["compare", "som1_day", "som1_day", "--seeds", "0"], ("--seeds", "0")),
    (["compare", "som1_day", "som1_day", "--workers", "0"], ("--workers", "0")),
    (["compare", "som1_day", "som1_day", "--kpi", "no.such.kpi"], ("--kpi", "no.such.kpi")),
    (["compare", "som1_day", "som1_day", "shuttles.fleet=-3"], ("shuttles.fleet", "-3")),
    (["compare", "som1_day"], ("compare", "1")),
    (["sweep", "som1_day", "--grid", "weather=clear,snow", "--seed", "-1"], ("--seed", "-1")),
    (["sweep", "som1_day", "--grid", "weather=clear,snow", "--kpi", "no.such.kpi"],
     ("--kpi", "no.such.kpi")),
    (["sweep", "som1_day", "--grid", "weather=clear,,snow"], ("--grid", "weather=clear,,snow")),
    (["sweep", "som1_day", "--grid", "wether=clear"], ("--grid", "wether")),
    (["sweep", "som1_day", "--grid", "weather=clear,clear"], ("--grid", "clear")),
    (["sweep", "som1_day", "--grid", "shuttles.fleet=10,inf"], ("shuttles.fleet", "inf")),
    (["sweep", "som1_day", "--grid", "shuttles.fleet=1e9"], ("shuttles.fleet", "1000000000")),
    (["sweep", "som1_day", "--grid", "traffic.demand_scale=1,nan"],
     ("traffic.demand_scale", "nan")),
    (["sweep", "som1_day", "--grid", "weather=snow", "--workers", "-2"], ("--workers", "-2")),
    (["sweep", "som1_day", "--grid", "weather=snow", "--scheduler", "localhost"],
     ("--scheduler", "localhost")),
    (["sensitivity", "som1_day", "--param", "traffic.demand_scale=0:inf"],
     ("traffic.demand_scale", "inf")),
    (["sensitivity", "som1_day", "--param", "traffic.demand_scale=2:1"], ("--param", "2")),
    (["sensitivity", "som1_day", "--param", "weather=0:1"], ("--param", "weather")),
    (["sensitivity", "som1_day", "--param", "traffic.demand_scale=0.5:1", "--samples", "0"],
     ("--samples", "0")),
    (["sensitivity", "som1_day", "--param", "traffic.demand_scale=0.5:1", "--seed", "-1"],
     ("--seed", "-1")),
    (["sensitivity", "som1_day", "--param", "traffic.demand_scale=0.5:1", "--kpi", "x.y"],
     ("--kpi", "x.y")),
    (["sensitivity", "som1_day", "--param", "traffic.demand_scale=0.5:1", "--method", "magic"],
     ("--method", "magic")),
    (["viz", "--host", "0.0.0.0"], ("--host", "0.0.0.0")),
    (["viz", "--host", "192.168.1.20"], ("--host", "192.168.1.20")),
    (["viz", "--host", "bad host!"], ("--host", "bad host!")),
    (["viz", "--port", "0"], ("--port", "0")),
    (["viz", "--port", "65536"], ("--port", "65536")),
    (["viz", "--port", "http"], ("--port", "http")),
    (["viz", "som1_day", "--set", "end=inf"], ("end", "inf")),
    (["viz", "--start", "25:99"], ("--start", "25:99")),
    (["viz", "--start", "9999:00"], ("--start", "9999:00")),
    (["animate", "run_folder", "--out", "a.gif", "--step", "nan"], ("--step", "nan")),
    (["animate", "run_folder", "--out", "a.gif", "--step", "-60"], ("--step", "-60")),
    (["animate", "run_folder", "--out", "a.gif", "--fps", "0"], ("--fps", "0")),
    (["animate", "run_folder", "--out", "a.gif"], ("run folder", "run_folder")),
    (["animate", "run_folder", "--out", "a.avi"], ("--out", "a.avi")),
    (["bench", "--repeat", "0"], ("--repeat", "0")),
    (["validate"], ("SCENARIO", "required")),
    (["no-such-command"], ("command", "no-such-command")),
]
for i, (argv, expect) in enumerate(OPTIONS):
    case(f"option-{i}-{'-'.join(argv[:2])}", argv, expect)


# ---- running the corpus ------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def test_the_corpus_is_large_and_covers_every_input_class():
    assert len(CASES) >= 100
    assert len({c[0] for c in CASES}) == len(CASES)
    prefixes = {c[0].split("-")[0] for c in CASES}
    assert {"set", "run", "file", "emergency", "net", "graphml", "osm", "drill",
            "option"} <= prefixes


@pytest.mark.parametrize(("argv", "files", "expect"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_field_and_value_and_writes_nothing(
        argv, files, expect, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, files)
    argv = [a.replace("{CWD}", str(tmp_path)) for a in argv]
    if "net.osm" in argv and importlib.util.find_spec("osmnx") is None:
        expect = ("net.osm", "osmnx")  # without the osm extra: that, as clearly, and exit 2
    before = _tree(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a bad option with exit code 2
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    for part in expect:
        assert part in err, f"{part!r} not in the message:\n{err}"
    assert "Traceback" not in out + err
    assert err.strip(), "no message"
    assert _tree(tmp_path) == before, "files were written or removed"


SUBPROCESS_CASES = [
    (["run", "som1_day", "--set", "traffic.demand_scale=inf"], {}, ("traffic.demand_scale",
                                                                  "inf")),
    (["run", "som1_day", "--seed", "-1"], {}, ("--seed", "-1")),
    (["validate", "scenario.toml"], {"scenario.toml": bytes(range(128, 256))},
     ("scenario.toml", "UTF-8")),
    (["network", "info", "--network", "net.graphml"],
     {"net.graphml": graphml(edge_attrs={"lanes_per_direction": "two"})},
     ("lanes_per_direction", "two")),
    (["viz", "--host", "0.0.0.0"], {}, ("--host", "0.0.0.0")),
]


@pytest.mark.parametrize(("argv", "files", "expect"), SUBPROCESS_CASES,
                         ids=[" ".join(c[0][:2]) + str(i) for i, c in enumerate(SUBPROCESS_CASES)])
def test_no_traceback_reaches_the_terminal(argv, files, expect, tmp_path):
    _write(tmp_path, files)
    before = _tree(tmp_path)
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for part in expect:
        assert part in proc.stderr
    assert _tree(tmp_path) == before


def test_a_public_host_is_an_explicit_choice_with_a_warning(tmp_path, monkeypatch, capsys):
    """--host beyond this machine needs --public and then prints a warning before serving;
    the serving itself is not started here (a bad scenario stops the command first)."""
    monkeypatch.chdir(tmp_path)
    code = main(["viz", "--host", "0.0.0.0", "--public", "--set", "end=inf"])
    err = capsys.readouterr().err
    assert code == 2
    assert "warning: --host 0.0.0.0 --public" in err


def test_a_sweep_with_an_unreachable_scheduler_leaves_nothing(tmp_path):
    pytest.importorskip("distributed")
    from sim.whatif.params import parse_grids, source
    from sim.whatif.runner import DaskBackend
    from sim.whatif.sweep import Sweep, run_sweep

    sweep = Sweep(source("som1_day"), [], parse_grids(["weather=clear,snow"]), 1, 1)
    backend = DaskBackend("tcp://127.0.0.1:9", connect_timeout_s=1)
    with pytest.raises(InputError, match=r"tcp://127\.0\.0\.1:9"):
        run_sweep(sweep, tmp_path / "sweep", backend, progress=False)
    assert not (tmp_path / "sweep").exists()


# ---- random values in random places of shipped scenarios --------------------------------------
def _paths(node, prefix=()):
    """Every path to a value (and to every table and list) of a raw scenario."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


RAW = {name: tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8"))
       for name in ("leaders_day", "hico_fire_drill", "city_emergency")}
PATHS = sorted({(name, p) for name, raw in RAW.items() for p in _paths(raw) if p and
                p[0] != "base"}, key=repr)
VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 1e-308, 2**63, float("inf"), float("nan")]),
    st.text(max_size=12),
    st.sampled_from(["", "08:00", "25:61", "inf", "nan", "-1", "HICO", "snow"]),
    st.booleans(),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from([[], {}, [[]], [{}]]),
)


def _finite(obj) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return all(_finite(v) for v in obj)
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(PATHS), value=VALUES)
def test_random_values_anywhere_give_input_error_or_a_finite_scenario(where, value):
    name, path = where
    raw = copy.deepcopy(RAW[name])
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        scenario = validate_scenario(raw, where=name)
    except InputError as exc:
        assert str(exc)
        return
    assert _finite(scenario.model_dump())
