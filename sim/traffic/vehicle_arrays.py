"""The vehicle records as numpy arrays, for the compiled core (vehicles.VehicleTable's twin).

Two tables with a row per vehicle, in the order vehicles were registered (`vi` integers, `vf`
times; columns as in kernel.py), so that the fields one event reads sit together. Fields read
by name (`table.state`) are views of a column (length: the vehicles registered; the tables grow
by doubling, so a reader takes a field afresh after adding vehicles); one vehicle's field by
`get(name, veh)` and `put(name, veh, value)`. Fixed routes live in one pool of sim link ids
(`routes`, each vehicle's start and length); `route[veh]` reads one back as a list, or None.
"""

from __future__ import annotations

import numpy as np

from . import kernel as K
from .vehicles import ABANDONED, ON_LINK, PLANNED, VehicleListener

# field: (table, column, value of a new record); the tables are the compiled core's (kernel.py)
_FIELDS = {
    "cls": ("vi", K.V_CLS, 0), "orig": ("vi", K.V_ORIG, 0), "dest": ("vi", K.V_DEST, 0),
    "slot": ("vi", K.V_SLOT, -1), "rstart": ("vi", K.V_RSTART, 0),
    "rlen": ("vi", K.V_RLEN, -1), "rpos": ("vi", K.V_RPOS, -1), "row": ("vi", K.V_ROW, -1),
    "link": ("vi", K.V_LINK, -1), "state": ("vi", K.V_STATE, PLANNED),
    "forced": ("vi", K.V_FORCED, 0), "has_listener": ("vi", K.V_LISTENER, 0),
    "nodes": ("vi", K.V_NODES, 0), "withdrawn_flag": ("vi", K.V_WITHDRAWN, 0),
    "noroute": ("vi", K.V_NOROUTE, 0), "qnext": ("vi", K.V_QNEXT, -1),
    "wnext": ("vi", K.V_WNEXT, -1),
    "tab_t": ("vf", K.VF_TAB_T, 0.0), "depart": ("vf", K.VF_DEPART, 0.0),
    "entry": ("vf", K.VF_ENTRY, 0.0), "arrive": ("vf", K.VF_ARRIVE, np.nan),
    "held_s": ("vf", K.VF_HELD_S, 0.0), "held_at": ("vf", K.VF_HELD_AT, -1.0),
    "abandoned": ("vf", K.VF_ABANDONED_AT, np.nan), "ee": ("vf", K.VF_EE, 0.0),
}
_BLANK = {"vi": np.zeros(K.N_VI, dtype=np.int64), "vf": np.zeros(K.N_VF)}
for _table, _col, _fill in _FIELDS.values():
    _BLANK[_table][_col] = _fill


def _blank(table: str, rows: int, first: np.ndarray | None = None) -> np.ndarray:
    """A vehicle table of `rows` new records, or of `first` followed by new records."""
    out = np.empty((rows, len(_BLANK[table])), dtype=_BLANK[table].dtype)
    k = 0 if first is None else len(first)
    if k:
        out[:k] = first
    out[k:] = _BLANK[table]
    return out


class _Routes:
    """`table.route[veh]`: the vehicle's fixed route as a list of sim links, or None."""

    def __init__(self, table: VehicleArrays):
        self._t = table

    def __getitem__(self, veh: int) -> list[int] | None:
        return self._t.route_of(veh)

    def __setitem__(self, veh: int, route: list[int] | None) -> None:
        self._t.set_route(veh, route, -1)

    def __len__(self) -> int:
        return len(self._t)


class VehicleArrays:
    """Every vehicle registered with the engine, a row each (see the module docstring); the
    compiled loop reads and writes the tables."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.vi, self.vf = _blank("vi", capacity), _blank("vf", capacity)
        self.store: dict[str, np.ndarray] = {}  # field -> its column
        self._columns()
        self.routes = np.zeros(1024, dtype=np.int64)
        self.n_routes = 0
        self.generation = 0  # counts reallocations: the compiled loop's view follows it
        self.kind: list[str] = []
        self.label: list[tuple[str, str]] = []
        self.listener: list[VehicleListener | None] = []
        self.route = _Routes(self)

    def __len__(self) -> int:
        return self.n

    def __getattr__(self, name: str):
        # a field by name: a view of its column
        store = self.__dict__.get("store")
        if store is not None and name in store:
            return store[name][:self.n]
        raise AttributeError(name)

    def get(self, name: str, veh: int):
        """One vehicle's field."""
        return self.store[name][veh].item()

    def put(self, name: str, veh: int, value) -> None:
        """Set one vehicle's field."""
        self.store[name][veh] = value

    @property
    def abandoned_at(self) -> dict[int, float]:
        """Vehicle: when its driver gave the trip up."""
        at = self.abandoned
        idx = np.flatnonzero(~np.isnan(at))
        return dict(zip(idx.tolist(), at[idx].tolist(), strict=True))

    # ---- growing ------------------------------------------------------------------------------
    def _columns(self) -> None:
        tables = {"vi": self.vi, "vf": self.vf}
        self.store = {name: tables[table][:, col] for name, (table, col, _) in _FIELDS.items()}

    def _reserve(self, m: int) -> None:
        cap = len(self.vi)
        if self.n + m <= cap:
            return
        # a quarter more, not double: a day adds its agents' vehicles one by one after its bulk
        # of trips, and every fresh row costs the process its page once
        new = max(cap + cap // 4, self.n + m)
        vi, vf = _blank("vi", new, self.vi[:self.n]), _blank("vf", new, self.vf[:self.n])
        self.vi, self.vf = vi, vf
        self._columns()
        self.generation += 1

    def _store_route(self, route: list[int]) -> int:
        m = len(route)
        if self.n_routes + m > len(self.routes):
            grown = np.zeros(max(2 * len(self.routes), self.n_routes + m), dtype=np.int64)
            grown[:self.n_routes] = self.routes[:self.n_routes]
            self.routes = grown
            self.generation += 1
        start = self.n_routes
        self.routes[start:start + m] = route
        self.n_routes += m
        return start

    def set_route(self, veh: int, route: list[int] | None, rpos: int) -> None:
        """Give the vehicle a fixed route (None: none), at position rpos on it."""
        s = self.store
        if route is None:
            s["rlen"][veh] = -1
        else:
            s["rstart"][veh] = self._store_route(route)
            s["rlen"][veh] = len(route)
        s["rpos"][veh] = rpos

    def route_of(self, veh: int) -> list[int] | None:
        n = int(self.store["rlen"][veh])
        if n < 0:
            return None
        start = int(self.store["rstart"][veh])
        return self.routes[start:start + n].tolist()

    # ---- adding -------------------------------------------------------------------------------
    def add(self, kind: str, cls: int, origin: int, destination: int, slot: int,
            route: list[int] | None, depart_s: float, listener: VehicleListener | None,
            priority: bool, label: tuple[str, str]) -> int:
        """Append one planned vehicle; returns its id."""
        self._reserve(1)
        vid = self.n
        self.n += 1
        # the row written whole: one store instead of one per field (agents add vehicles one
        # at a time, tens of thousands a day)
        row = _BLANK["vi"].copy()
        row[K.V_CLS], row[K.V_ORIG], row[K.V_DEST], row[K.V_SLOT] = (cls, origin, destination,
                                                                     slot)
        row[K.V_LISTENER] = listener is not None
        row[K.V_NODES] = listener is not None and getattr(listener, "listens_to_nodes", True)
        self.vi[vid] = row
        self.vf[vid, K.VF_DEPART] = depart_s
        if route is not None:
            self.set_route(vid, route, -1)
        self.kind.append(kind)
        self.label.append(label)
        self.listener.append(listener)
        return vid

    def add_guided(self, kinds, classes: np.ndarray, origins: np.ndarray,
                   destinations: np.ndarray, slots: np.ndarray, depart_s: np.ndarray,
                   labels) -> range:
        """Append planned background vehicles that follow the guidance tables; returns their
        ids."""
        m = len(origins)
        self._reserve(m)
        first = self.n
        self.n += m
        s, part = self.store, slice(first, first + m)
        s["cls"][part], s["orig"][part], s["dest"][part] = classes, origins, destinations
        s["slot"][part], s["depart"][part] = slots, depart_s
        self.kind.extend(kinds)
        self.label.extend(labels)
        self.listener.extend([None] * m)
        return range(first, first + m)

    # ---- calling off --------------------------------------------------------------------------
    def is_withdrawn(self, veh: int) -> bool:
        return bool(self.get("withdrawn_flag", veh))

    def withdraw(self, veh: int) -> None:
        self.put("withdrawn_flag", veh, True)

    # ---- reading ------------------------------------------------------------------------------
    def on_link_now(self) -> tuple[np.ndarray, np.ndarray]:
        """Vehicles inside a link now (entered, not yet left) and the sim link each is on."""
        state, link = self.state, self.link
        veh = np.flatnonzero((state == ON_LINK) & (link >= 0))
        return veh, link[veh]

    def status(self, veh: int) -> str:
        """As VehicleTable.status."""
        if not np.isnan(self.store["arrive"][veh]):
            return "arrived"
        if self.store["state"][veh] == ABANDONED:
            return "abandoned"
        if self.store["forced"][veh]:
            return "stuck"
        return "en_route"

    def counts(self) -> dict[str, int]:
        """As VehicleTable.counts."""
        s, n = self.store, self.n
        state = s["state"][:n]
        planned = state == PLANNED
        forced = s["forced"][:n].astype(bool) & ~planned
        arrived = ~np.isnan(s["arrive"][:n]) & ~planned
        n_planned, n_arrived = int(np.count_nonzero(planned)), int(np.count_nonzero(arrived))
        n_abandoned = int(np.count_nonzero(state == ABANDONED))
        n_stuck = int(np.count_nonzero(forced & ~arrived & (state != ABANDONED)))
        entered = n - n_planned
        return {"registered": n, "entered": entered, "arrived": n_arrived,
                "en_route": entered - n_arrived - n_stuck - n_abandoned, "stuck": n_stuck,
                "abandoned": n_abandoned, "planned": n_planned,
                "forced": int(np.count_nonzero(forced & arrived))}
