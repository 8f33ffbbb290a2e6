"""Event batching (EventModel.schedule_together) and event_method callbacks: whatever is
batched runs in exactly the order single Mesa events would give, and can be cancelled."""

from __future__ import annotations

import random

from mesa.time import Schedule

from sim.events import EventModel, event_method


class Actor:
    """Schedules more callbacks from inside its own, at a few shared times."""

    def __init__(self, model: EventModel, name: str, log: list, rng: random.Random,
                 together: bool):
        self.model, self.name, self.log, self.rng = model, name, log, rng
        self.together = together
        self.handles: list = []

    def schedule(self, at: float, batched: bool) -> None:
        if batched and self.together:
            self.handles.append(self.model.schedule_together(self.act, at=at))
        else:
            self.handles.append(self.model.schedule_event(self.act, at=at))

    @event_method
    def act(self) -> None:
        self.log.append((self.model.time, self.name))
        if len(self.log) < 400:
            for _ in range(self.rng.randrange(1, 3)):
                # the same time, or one of a few shared later times
                at = self.model.time + self.rng.choice((0.0, 0.0, 5.0, 10.0, 30.0))
                self.schedule(at, batched=self.rng.random() < 0.7)
            if self.rng.random() < 0.1 and self.handles:
                self.rng.choice(self.handles).cancel()


def _day(together: bool, recurring: bool = False) -> list:
    model = EventModel()
    log: list = []
    rng = random.Random(7)
    actors = [Actor(model, f"a{i}", log, rng, together) for i in range(12)]

    def tick():
        log.append((model.time, "tick"))

    if recurring:
        model.schedule_recurring(tick, Schedule(interval=5.0, start=0.0, end=100.0))
    for i, actor in enumerate(actors):
        actor.schedule(float(i % 3) * 5.0, batched=i % 2 == 0)
    model.run_until(500.0)
    return log


def test_batched_callbacks_run_in_the_order_of_single_events():
    single = _day(together=False)
    assert len(single) >= 400
    assert _day(together=True) == single


def test_batches_keep_the_order_with_recurring_events():
    assert _day(together=True, recurring=True) == _day(together=False, recurring=True)


def test_fewer_mesa_events_for_callbacks_due_together():
    model = EventModel()
    log: list = []
    actors = [Actor(model, f"a{i}", log, random.Random(i), True) for i in range(50)]
    handles = [model.schedule_together(a.act, at=60.0) for a in actors]
    handles[3].cancel()
    assert len(model._event_list) == 1
    model.run_until(60.0)
    assert [name for _, name in log[:49]] == [a.name for i, a in enumerate(actors) if i != 3]


class Note:
    """Writes its name in the log when called, nothing else."""

    def __init__(self, model: EventModel, name: str, log: list):
        self.model, self.name, self.log = model, name, log

    @event_method
    def note(self) -> None:
        self.log.append((self.model.time, self.name))


def test_batching_goes_on_after_a_recurring_schedule():
    model = EventModel()
    log: list = []
    tick = Note(model, "tick", log)
    model.schedule_recurring(tick.note, Schedule(interval=30.0, start=0.0, end=120.0))
    notes = [Note(model, f"n{i}", log) for i in range(50)]
    for n in notes:
        model.schedule_together(n.note, at=60.0)
    assert len(model._event_list) == 2  # the tick at 0 and one batch at 60
    model.run_until(60.0)
    # the tick due at 60 was scheduled (at 30) after the batch: it runs after it
    assert log == [(0.0, "tick"), (30.0, "tick"), *((60.0, n.name) for n in notes),
                   (60.0, "tick")]


def test_a_planned_time_already_past_is_scheduled_now():
    model = EventModel()
    log: list = []
    late, on_time = Note(model, "late", log), Note(model, "on time", log)
    model.run_until(100.0)
    assert model.schedule_at_or_now(late.note, 40.0).time == 100.0
    model.schedule_at_or_now(on_time.note, 130.0)
    model.schedule_together(late.note, at=90.0)
    model.run_until(200.0)
    assert log == [(100.0, "late"), (100.0, "late"), (130.0, "on time")]
