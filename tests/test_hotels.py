"""Hotel allocation: capacity holds, roles land in their zones, seeds reproduce, errors explain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.summit.hotels import (
    DEFAULT_RULES,
    ROLES,
    ZONES,
    Guest,
    Lodging,
    allocate,
    lodgings_from_network,
)
from sim.errors import InputError
from sim.formats import embedded_network, load_network


def lodge(name, zone, rooms, suites=0, km=1.0, city="Gyeongju"):
    return Lodging(name=name, zone=zone, node=f"n_{name}", rooms=rooms, suites=suites,
                   distance_km=km, city=city)


def guests(role, n, *, start=0, economy=None, party=1):
    """n guests of one role; each its own economy unless one is given."""
    return [Guest(id=start + i, role=role, economy=economy or f"E{start + i}", party_size=party)
            for i in range(n)]


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- capacity and bookkeeping, for any input ------------------------------------------------

lodging_lists = st.lists(
    st.builds(lodge, name=st.text("abcdefgh", min_size=1, max_size=4),
              zone=st.sampled_from(ZONES), rooms=st.integers(1, 12), suites=st.integers(0, 2),
              km=st.floats(0, 30, allow_nan=False)),
    max_size=8, unique_by=lambda lg: lg.name)
guest_specs = st.lists(
    st.tuples(st.sampled_from(ROLES), st.sampled_from(["KOR", "USA", "CHN", "JPN"]),
              st.integers(1, 9)),
    max_size=40)


@settings(max_examples=150, deadline=None)
@given(lodgings=lodging_lists, specs=guest_specs, seed=st.integers(0, 2**32 - 1))
def test_capacity_never_exceeded_and_every_guest_accounted_for(lodgings, specs, seed):
    people = [Guest(id=10 * i + 3, role=r, economy=e, party_size=p)
              for i, (r, e, p) in enumerate(specs)]
    alloc = allocate(people, lodgings, rng(seed))
    by_name = {lg.name: lg for lg in lodgings}
    by_id = {g.id: g for g in people}

    # each guest exactly once: assigned or unplaced
    assert len(alloc.unplaced) == len(set(alloc.unplaced))
    assert not set(alloc.unplaced) & set(alloc.assignment)
    assert set(alloc.unplaced) | set(alloc.assignment) == set(by_id)

    # usage matches the assignment and stays within capacity, rooms and suites separately
    rooms = dict.fromkeys(by_name, 0)
    suites = dict.fromkeys(by_name, 0)
    for gid, name in alloc.assignment.items():
        rooms[name] += by_id[gid].rooms_needed
        suites[name] += by_id[gid].suites_needed
        assert by_name[name].zone in DEFAULT_RULES[by_id[gid].role]
    assert alloc.rooms_used == rooms and alloc.suites_used == suites
    for name, lg in by_name.items():
        assert rooms[name] <= lg.rooms and suites[name] <= lg.suites

    # unplaced only when nothing allowed has room, even now that placing is over (capacity only
    # shrinks, so a guest that fits at the end would have fitted when its turn came)
    for gid in alloc.unplaced:
        g = by_id[gid]
        for lg in lodgings:
            if lg.zone in DEFAULT_RULES[g.role]:
                assert (lg.rooms - rooms[lg.name] < g.rooms_needed
                        or lg.suites - suites[lg.name] < g.suites_needed)

    counts = alloc.summary()
    assert sum(z["guests"] for z in counts["zones"].values()) == len(alloc.assignment)
    assert sum(counts["unplaced"].values()) == len(alloc.unplaced)


def test_rooms_needed_by_role():
    # two people share a room; ministers and CEOs get one room whatever their party
    assert Guest(1, "delegate", "KOR", 3).rooms_needed == 2
    assert Guest(2, "media", "KOR", 4).rooms_needed == 2
    assert Guest(3, "minister", "KOR", 5).rooms_needed == 1
    assert Guest(4, "ceo", "KOR", 3).rooms_needed == 1
    leader = Guest(5, "leader", "KOR", 6)
    assert (leader.suites_needed, leader.rooms_needed) == (1, 3)  # entourage of 5: three rooms
    assert Guest(6, "leader", "KOR", 1).rooms_needed == 0


# ---- rules ------------------------------------------------------------------------------------

def test_leaders_get_suites_in_bomun_then_city_only():
    lodgings = [lodge("Bomun suites", "bomun", rooms=10, suites=1, km=0.5),
                lodge("Bomun plain", "bomun", rooms=500, km=0.3),
                lodge("City suites", "city", rooms=10, suites=1, km=8),
                lodge("Temple suites", "bulguksa", rooms=10, suites=5, km=6),
                lodge("Overflow suites", "overflow", rooms=10, suites=5, km=30)]
    leaders = guests("leader", 4, party=5)
    alloc = allocate(leaders, lodgings, rng())
    placed = sorted(alloc.assignment.values())
    assert placed == ["Bomun suites", "City suites"]
    assert len(alloc.unplaced) == 2  # suites left in Bulguksa and overflow are not allowed
    assert alloc.rooms_used["Bomun suites"] == 2  # entourage of 4 in the leader's own hotel
    assert alloc.summary()["unplaced"]["leader"] == 2


def test_leader_goes_where_suite_and_entourage_rooms_are_together():
    lodgings = [lodge("Near, small", "bomun", rooms=1, suites=1, km=0.3),
                lodge("Far, large", "bomun", rooms=20, suites=1, km=2.0)]
    alloc = allocate([Guest(1, "leader", "USA", party_size=9)], lodgings, rng())
    assert alloc.assignment == {1: "Far, large"}
    assert alloc.suites_used == {"Near, small": 0, "Far, large": 1}


def test_delegates_overflow_zone_by_zone_in_rule_order():
    lodgings = [lodge("Bomun", "bomun", rooms=2, km=0.5),
                lodge("City", "city", rooms=2, km=7),
                lodge("Temple", "bulguksa", rooms=2, km=6),
                lodge("Pohang", "overflow", rooms=2, km=35, city="Pohang")]
    alloc = allocate(guests("delegate", 9), lodgings, rng(3))
    used = alloc.rooms_used
    assert used == {"Bomun": 2, "City": 2, "Temple": 2, "Pohang": 2}
    assert len(alloc.unplaced) == 1
    # with fewer delegates the later zones stay empty
    alloc = allocate(guests("delegate", 3), lodgings, rng(3))
    assert alloc.rooms_used == {"Bomun": 2, "City": 1, "Temple": 0, "Pohang": 0}


def test_within_a_zone_the_closest_lodging_fills_first():
    lodgings = [lodge("Far", "bomun", rooms=5, km=2.5), lodge("Near", "bomun", rooms=5, km=0.4)]
    alloc = allocate(guests("delegate", 7), lodgings, rng())
    assert alloc.rooms_used == {"Far": 2, "Near": 5}


def test_media_and_staff_follow_their_own_orders():
    lodgings = [lodge("Bomun", "bomun", rooms=50, km=0.5), lodge("City", "city", rooms=3, km=7)]
    alloc = allocate(guests("media", 4) + guests("staff", 2, start=100), lodgings, rng())
    media = [alloc.assignment[i] for i in range(4)]
    # media try the city first and only then Bomun; staff are never housed in Bomun
    assert media.count("City") == 3 and media.count("Bomun") == 1
    assert sorted(alloc.unplaced) == [100, 101]
    assert alloc.summary()["unplaced"]["staff"] == 2


def test_higher_roles_are_placed_first_whatever_the_input_order():
    lodgings = [lodge("Bomun", "bomun", rooms=3, km=0.5), lodge("Pohang", "overflow", rooms=9)]
    people = [*guests("delegate", 3), Guest(50, "minister", "KOR"), Guest(51, "ceo", "KOR")]
    alloc = allocate(people, lodgings, rng())
    assert alloc.assignment[50] == "Bomun" and alloc.assignment[51] == "Bomun"
    assert [alloc.assignment[i] for i in range(3)].count("Bomun") == 1


def test_custom_rules_replace_the_defaults():
    lodgings = [lodge("Bomun", "bomun", rooms=10), lodge("Pohang", "overflow", rooms=10)]
    alloc = allocate(guests("delegate", 2), lodgings, rng(), rules={"delegate": ["overflow"]})
    assert set(alloc.assignment.values()) == {"Pohang"}
    alloc = allocate(guests("delegate", 2), lodgings, rng(), rules={"delegate": []})
    assert sorted(alloc.unplaced) == [0, 1]


# ---- seeds and delegations ----------------------------------------------------------------

def _scarce():
    return [lodge("Bomun", "bomun", rooms=4, km=0.5), lodge("City", "city", rooms=40, km=7)]


def test_same_seed_same_allocation_and_input_order_does_not_matter():
    people = guests("delegate", 12)
    a = allocate(people, _scarce(), rng(42))
    b = allocate(list(reversed(people)), list(reversed(_scarce())), rng(42))
    assert a.assignment == b.assignment
    assert a.rooms_used == b.rooms_used and a.unplaced == b.unplaced


def test_different_seeds_can_give_different_allocations():
    people = guests("delegate", 12)
    in_bomun = {frozenset(g for g, name in allocate(people, _scarce(), rng(s)).assignment.items()
                          if name == "Bomun") for s in range(10)}
    assert len(in_bomun) > 1


def test_delegation_joins_its_leaders_hotel_over_a_closer_one():
    lodgings = [lodge("Leaders' hotel", "bomun", rooms=6, suites=1, km=2.0),
                lodge("Next to HICO", "bomun", rooms=50, km=0.2)]
    people = [Guest(1, "leader", "PER", party_size=3),
              *guests("delegate", 8, start=10, economy="PER")]
    alloc = allocate(people, lodgings, rng(5))
    with_leader = [g for g in range(10, 18) if alloc.assignment[g] == "Leaders' hotel"]
    # the leader's entourage takes 1 room, leaving 5 for five of the eight delegates
    assert len(with_leader) == 5
    assert alloc.rooms_used["Leaders' hotel"] == 6
    # another economy's delegate is not pulled there: it takes the closest hotel
    alloc = allocate([*people, Guest(99, "delegate", "CHL")], lodgings, rng(5))
    assert alloc.assignment[99] == "Next to HICO"


def test_delegation_preference_does_not_override_zone_order():
    lodgings = [lodge("Bomun", "bomun", rooms=5, km=0.5),
                lodge("City suites", "city", rooms=10, suites=1, km=7)]
    people = [Guest(1, "leader", "MEX", party_size=3),
              *guests("delegate", 3, start=10, economy="MEX")]
    alloc = allocate(people, lodgings, rng())
    # the leader needs the only suite, in the city; the delegates still take Bomun first
    assert alloc.assignment[1] == "City suites"
    assert [alloc.assignment[g] for g in (10, 11, 12)] == ["Bomun"] * 3


def test_over_demand_is_reported_by_role_not_overbooked():
    lodgings = [lodge("Bomun", "bomun", rooms=20, suites=2, km=0.5),
                lodge("City", "city", rooms=10, km=7)]
    people = (guests("leader", 3, party=3) + guests("minister", 5, start=100)
              + guests("delegate", 30, start=200, party=2) + guests("media", 4, start=300))
    alloc = allocate(people, lodgings, rng(1))
    assert alloc.rooms_used == {"Bomun": 20, "City": 10}
    assert alloc.suites_used == {"Bomun": 2, "City": 0}
    summary = alloc.summary()
    assert summary["unplaced"] == {"leader": 1, "minister": 0, "ceo": 0, "senior_official": 0,
                                   "delegate": 7, "media": 4, "staff": 0, "security": 0,
                                   "volunteer": 0}
    assert summary["zones"]["bomun"] == {"guests": 20, "people": 6 + 5 + 26, "rooms_used": 20,
                                         "rooms_available": 20, "suites_used": 2,
                                         "suites_available": 2}
    assert summary["zones"]["city"]["guests"] == 10
    assert summary["zones"]["overflow"] == {"guests": 0, "people": 0, "rooms_used": 0,
                                            "rooms_available": 0, "suites_used": 0,
                                            "suites_available": 0}


# ---- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, field, value", [
    ({"zone": "downtown"}, "zone", "'downtown'"),
    ({"rooms": 0}, "rooms", "0"),
    ({"rooms": -5}, "rooms", "-5"),
    ({"rooms": 2.5}, "rooms", "2.5"),
    ({"suites": -1}, "suites", "-1"),
    ({"distance_km": float("nan")}, "distance_km", "nan"),
    ({"node": ""}, "node", "''"),
])
def test_bad_lodging_names_field_and_value(kwargs, field, value):
    base = {"name": "Hotel X", "zone": "bomun", "node": "n1", "rooms": 10}
    with pytest.raises(InputError) as err:
        Lodging(**(base | kwargs))
    msg = str(err.value)
    assert "'Hotel X'" in msg and f"{field} = {value}" in msg
    if field == "zone":
        assert all(z in msg for z in ZONES)


@pytest.mark.parametrize("kwargs, field, value", [
    ({"role": "king"}, "role", "'king'"),
    ({"party_size": 0}, "party_size", "0"),
    ({"economy": ""}, "economy", "''"),
    ({"id": "7"}, "id", "'7'"),
])
def test_bad_guest_names_field_and_value(kwargs, field, value):
    with pytest.raises(InputError) as err:
        Guest(**({"id": 7, "role": "delegate", "economy": "KOR"} | kwargs))
    msg = str(err.value)
    assert f"{field} = {value}" in msg
    if field == "role":
        assert all(r in msg for r in ROLES)


def test_duplicates_and_bad_rules_are_refused():
    hotel = lodge("Twin", "bomun", rooms=5)
    with pytest.raises(InputError, match=r"lodging name = 'Twin' appears twice"):
        allocate([], [hotel, lodge("Twin", "city", rooms=3)], rng())
    with pytest.raises(InputError, match=r"guest id = 4 appears twice"):
        allocate([Guest(4, "media", "KOR"), Guest(4, "staff", "JPN")], [hotel], rng())
    with pytest.raises(InputError, match=r"rules\['media'\]: zone = 'moon'; allowed: bomun"):
        allocate([], [hotel], rng(), rules={"media": ["moon"]})
    with pytest.raises(InputError, match=r"rules: role = 'pilot'; allowed: leader"):
        allocate([], [hotel], rng(), rules={"pilot": ["city"]})
    with pytest.raises(InputError, match=r"no entry for role 'staff'"):
        allocate([Guest(1, "staff", "KOR")], [hotel], rng(), rules={"media": ["city"]})


# ---- from the network -------------------------------------------------------------------------

def test_lodgings_from_embedded_network():
    net = embedded_network()
    pohang = Lodging("Pohang pool", "overflow", node="r_pohang_airport", rooms=2000,
                     distance_km=35.0, city="Pohang")
    found = {lg.name: lg for lg in lodgings_from_network(net, extra=[pohang])}
    assert found["Lahan Select Gyeongju"].rooms == 430
    assert found["Sono Calm Gyeongju"].rooms == 418
    assert found["The-K Hotel Gyeongju"].rooms == 304
    for name in ("Lahan Select Gyeongju", "Sono Calm Gyeongju", "The-K Hotel Gyeongju"):
        assert found[name].zone == "bomun" and found[name].distance_km <= 3
        assert found[name].node == net.resolve(name)[0]
    assert found["Kolon Hotel"].zone == "bulguksa" and found["Kolon Hotel"].rooms == 305
    assert found["Kolon Hotel"].distance_km == pytest.approx(6.4, abs=0.2)
    assert found["Pohang pool"] is pohang
    # hotels without a room count are left to the caller
    assert "Blue One complex" not in found


def test_lodgings_from_network_refuses_bad_extras_and_missing_venue(grid_spec, write_json):
    net = embedded_network()
    with pytest.raises(InputError, match=r"'Kolon Hotel' appears twice"):
        lodgings_from_network(net, extra=[Lodging("Kolon Hotel", "bulguksa", "e_kolon_door", 9)])
    with pytest.raises(InputError, match=r"node = 'nowhere' is not a node"):
        lodgings_from_network(net, extra=[Lodging("Pool", "overflow", "nowhere", 9)])
    grid = load_network(write_json(grid_spec))  # has a hotel but no HICO
    with pytest.raises(InputError, match="no place named 'HICO'"):
        lodgings_from_network(grid)


def test_leaders_find_suites_on_the_embedded_network():
    lodgings = lodgings_from_network(embedded_network())
    suites_in_bomun = sum(lg.suites for lg in lodgings if lg.zone == "bomun")
    assert suites_in_bomun >= 15
    leaders = [Guest(i, "leader", f"E{i}", party_size=5) for i in range(suites_in_bomun + 2)]
    alloc = allocate(leaders, lodgings, np.random.default_rng(1))
    assert len(alloc.unplaced) == 2  # one suite each; the rest are reported, not squeezed in
    for name, used in alloc.suites_used.items():
        assert used <= next(lg.suites for lg in lodgings if lg.name == name)
