"""The traversal log gives back every traversal exactly as logged (entry times it keeps only
where they are not the vehicle's exit before), however the traversals came in."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.traffic.traversal_log import TraversalLog


def _log(n_links: int, n_veh: int) -> TraversalLog:
    graph = SimpleNamespace(n_links=n_links, length=np.linspace(10.0, 500.0, n_links))
    links = SimpleNamespace(graph=graph, fft_base=[np.linspace(1.0, 40.0, n_links).tolist()])
    vehicles = type("Vehicles", (), {"cls": [0] * n_veh, "__len__": lambda self: n_veh})()
    return TraversalLog(links, vehicles, start_s=0.0, end_s=3600.0)


def _trips(rng, n_veh: int, per_vehicle: int):
    """Traversals of each vehicle one after another, most entering as they left the link
    before, some after a wait; zeros of both signs among the entry times."""
    rows = []
    for v in range(n_veh):
        t = float(rng.choice([0.0, -0.0, rng.uniform(0, 100)]))
        for _ in range(per_vehicle):
            if rng.random() < 0.1:
                t += rng.uniform(0, 30)  # a wait off the road
            out = t + rng.uniform(1, 60)
            rows.append((int(rng.integers(0, 50)), v, t, out))
            t = out
    rows.sort(key=lambda r: r[3])  # logged as vehicles leave
    lk, veh, t_in, t_out = (np.array(c) for c in zip(*rows, strict=True))
    return lk.astype(np.int64), veh.astype(np.int64), t_in, t_out


def test_traversals_come_back_exactly():
    rng = np.random.default_rng(3)
    n_veh = 40
    lk, veh, t_in, t_out = _trips(rng, n_veh, 25)
    log = _log(50, n_veh)
    ids = np.stack([lk, veh], axis=1).ravel()
    times = np.stack([t_in, t_out], axis=1).ravel()
    m = len(lk)
    # some chunks as the compiled core hands them over, the rest as the Python loops log
    for a, b in ((0, m // 3), (m // 3, m // 2)):
        log.extend(ids[2 * a:2 * b], times[2 * a:2 * b])
    log.new_ids.extend(ids[2 * (m // 2):].tolist())
    log.new_times.extend(times[2 * (m // 2):].tolist())
    got = log.traversals()
    for a, b in zip(got, (lk, veh, t_in, t_out), strict=True):
        assert a.tobytes() == b.tobytes()  # bit for bit, the sign of zero too
    assert len(log.times) == 2 * m
    assert np.asarray(log.times).tobytes() == times.tobytes()


def test_sums_are_numpys_over_the_whole_log():
    rng = np.random.default_rng(4)
    lk, veh, t_in, t_out = _trips(rng, 30, 20)
    log = _log(50, 30)
    for part in np.array_split(np.arange(len(lk)), 5):
        log.extend(np.stack([lk[part], veh[part]], axis=1).ravel(),
                   np.stack([t_in[part], t_out[part]], axis=1).ravel())
    assert log._count.tolist() == np.bincount(lk, minlength=50).tolist()
    assert log._tt_sum.tobytes() == np.bincount(lk, weights=t_out - t_in,
                                                minlength=50).tobytes()
    metres = np.bincount(veh, weights=log._length[lk], minlength=30)
    assert log._metres[:30].tobytes() == metres.tobytes()
