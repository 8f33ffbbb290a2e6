"""One set of parameter names for every command with --set (aliases too, one message for an
unknown name), shipped scenarios as `base` from any folder, and `--network FILE` on run and
validate."""

from __future__ import annotations

import csv
import json

import pytest
from traffic_helpers import line_network

from sim.cli import main
from sim.scenario import SCENARIO_DIR, load_scenario, shipped_names

# a short SOM1 morning: the lines run, no background traffic
QUICK = ["--set", "end=07:40", "--set", "traffic.daily_trips=0", "--set", "traffic.external=[]",
         "--set", "traffic.through=[]", "--set", "outputs.congestion_map=false"]


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- one set of names -------------------------------------------------------------------
def test_run_takes_the_fleet_alias_and_runs_that_many_line_buses(tmp_path, capsys):
    line_buses = sum(line.vehicles for line in load_scenario("som1_day").shuttles.lines)
    assert line_buses == 22  # the test picks fleets that every line halves or keeps exactly
    for fleet in (11, 22):
        out = tmp_path / f"fleet{fleet}"
        code, _, err = _cli(capsys, "run", "som1_day", "--quiet", "--out", str(out), *QUICK,
                            "--set", f"shuttles.fleet={fleet}")
        assert code == 0, err
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["shuttles"]["fleet"] == fleet
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert f"shuttles.fleet={fleet}" in manifest["overrides"]
        assert manifest["scenario"]["shuttles"]["fleet_scale"] == fleet / 22


def test_an_alias_converts_on_the_other_overrides_and_a_later_value_wins():
    # the fleet counts the lines as they end up: line 0 doubled from 6 to 12 buses
    scenario = load_scenario("som1_day", ["shuttles.lines.0.vehicles=12", "shuttles.fleet=14"])
    assert scenario.shuttles.fleet_scale == pytest.approx(14 / 28)
    assert load_scenario("som1_day", ["shuttles.fleet=11", "shuttles.fleet_scale=2"]
                         ).shuttles.fleet_scale == 2.0
    assert load_scenario("som1_day", ["traffic.capacity_per_lane=1500"]
                         ).traffic.capacity_scale == 0.75


UNKNOWN = "shuttles.fleets=200"


@pytest.mark.parametrize("argv", [
    ["run", "som1_day", "--set", UNKNOWN],
    ["validate", "som1_day", "--set", UNKNOWN],
    ["viz", "som1_day", "--set", UNKNOWN],
    ["drill", "hico_fire_drill", "--observed", "log.csv", "--set", UNKNOWN],
    ["sweep", "som1_day", "--grid", "weather=clear,snow", "--set", UNKNOWN],
    ["compare", "som1_day", "som1_day", "--set", UNKNOWN],
], ids=lambda argv: argv[0])
def test_an_unknown_name_gets_one_message_in_every_command(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "log.csv").write_bytes(
        (SCENARIO_DIR / "drills" / "hico_fire_drill_observed.csv").read_bytes())
    writes = argv[0] not in ("validate", "viz")
    code, out, err = _cli(capsys, *argv, *(["--out", str(tmp_path / "out")] if writes else []))
    assert code == 2 and not out
    line = err.strip()
    assert line.startswith("error: --set 'shuttles.fleets=200': unknown parameter "
                           "'shuttles.fleets': no field 'fleets' under shuttles.")
    # close matches, what is allowed there, and the aliases
    assert "Did you mean 'shuttles.fleet_scale' or 'shuttles.fleet'?" in line
    assert "Allowed: shuttles has: fleet_scale, " in line and "aliases: shuttles.fleet (" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]  # nothing written


def test_a_bad_alias_value_and_a_value_in_the_way_are_named(capsys):
    code, _, err = _cli(capsys, "validate", "som1_day", "--set", "shuttles.fleet=-3")
    assert code == 2 and "shuttles.fleet must be a number > 0, not '-3'" in err
    code, _, err = _cli(capsys, "validate", "normal_weekday", "--set", "shuttles.fleet=10")
    assert code == 2 and "has no shuttle lines" in err
    code, _, err = _cli(capsys, "validate", "som1_day", "--set", "name.first=1")
    assert code == 2 and "name = 'SOM1 meeting day' is a value" in err


# ---- shipped scenarios as base, from anywhere ---------------------------------------------
def test_a_scenario_in_another_folder_starts_from_a_shipped_one_by_name(tmp_path, capsys):
    mine = tmp_path / "elsewhere" / "my_day.toml"
    mine.parent.mkdir()
    mine.write_text('base = "som1_day"\nname = "My day"\n[delegates]\ntotal = 1500\n',
                    encoding="utf-8")
    scenario = load_scenario(mine)
    shipped = load_scenario("som1_day")
    assert scenario.name == "My day" and scenario.delegates.total == 1500
    assert scenario.shuttles.lines == shipped.shuttles.lines  # the rest comes from som1_day
    mine.write_text('base = "som1_day.toml"\nname = "My day"\n', encoding="utf-8")
    assert load_scenario(mine).venues == shipped.venues
    code, out, _ = _cli(capsys, "validate", str(mine))
    assert code == 0 and "My day: valid" in out


def test_a_file_beside_the_scenario_comes_before_a_shipped_name(tmp_path):
    (tmp_path / "som1_day.toml").write_text('name = "local som1"\n', encoding="utf-8")
    (tmp_path / "mine.toml").write_text('base = "som1_day.toml"\nname = "mine"\n',
                                        encoding="utf-8")
    scenario = load_scenario(tmp_path / "mine.toml")
    assert scenario.name == "mine" and not scenario.shuttles.lines  # the local file, no lines


def test_a_base_that_is_neither_a_file_nor_shipped_lists_the_shipped_names(tmp_path, capsys):
    mine = tmp_path / "mine.toml"
    mine.write_text('base = "som2_day"\nname = "mine"\n', encoding="utf-8")
    code, out, err = _cli(capsys, "validate", str(mine))
    assert code == 2 and not out
    assert "base = 'som2_day': there is no file" in err
    assert f"shipped scenarios: {', '.join(shipped_names())}" in err
    assert "som1_day" in shipped_names()


# ---- --network on run and validate ------------------------------------------------------
@pytest.fixture
def line_scenario(tmp_path):
    """A network file and, in another folder, a scenario naming its nodes but not the file."""
    net = line_network(tmp_path, [{"lanes": 1, "length_km": 1.0}, {"lanes": 1, "length_km": 1.0}],
                       name="two_segments")
    scenario = tmp_path / "scenarios" / "line.toml"
    scenario.parent.mkdir()
    scenario.write_text("""name = "line"
start = "00:00"
end = "00:30"

[traffic]
contract_chains = false

[[traffic.od]]
origin = "n0"
destination = "n2"
vph = 120
start = "00:00"
end = "00:10"

[outputs]
congestion_map = false
""", encoding="utf-8")
    return scenario, net


def test_run_uses_the_network_file_given(tmp_path, line_scenario, capsys):
    scenario, net = line_scenario
    out = tmp_path / "run"
    code, _, err = _cli(capsys, "run", str(scenario), "--network", str(net), "--quiet",
                        "--out", str(out))
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["network"]["nodes"] == 3 and manifest["network"]["name"] == "two_segments"
    assert manifest["scenario"]["network"]["file"] == str(net.resolve())
    with open(out / "trips.csv", newline="", encoding="utf-8") as fh:
        trips = list(csv.DictReader(fh))
    assert trips and {(t["origin"], t["destination"]) for t in trips} == {("n0", "n2")}
    code, printed, _ = _cli(capsys, "validate", str(scenario), "--network", str(net))
    assert code == 0 and "network: two_segments, 3 nodes" in printed


def test_without_the_network_file_the_nodes_are_unknown(tmp_path, line_scenario, capsys):
    scenario, _ = line_scenario
    code, _, err = _cli(capsys, "validate", str(scenario))
    assert code == 2 and "unknown place or node" in err


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_missing_network_file_is_refused_before_anything_runs(tmp_path, line_scenario,
                                                                 command, capsys):
    scenario, _ = line_scenario
    extra = ["--out", str(tmp_path / "run")] if command == "run" else []
    code, out, err = _cli(capsys, command, str(scenario), "--network",
                          str(tmp_path / "none.json"), *extra)
    assert code == 2 and not out
    assert "--network" in err and "none.json" in err and "no such file" in err
    assert not (tmp_path / "run").exists()
