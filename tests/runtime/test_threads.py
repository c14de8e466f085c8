"""The thread tuner keeps the faster thread count, as the load on the machine changes."""

from shoplora.runtime.threads import ThreadTuner


class Machine:
    """A clock whose forward passes take `cost[threads]` seconds."""

    def __init__(self, cost):
        self.cost, self.now, self.threads, self.applied = dict(cost), 0.0, None, []

    def clock(self):
        return self.now

    def set_threads(self, count):
        self.threads = count
        self.applied.append(count)

    def run(self, tuner, steps):
        for _ in range(steps):
            tuner.start()
            self.now += self.cost[self.threads]
            tuner.stop()


def tuner_on(machine, **settings):
    return ThreadTuner([1, 2], set_threads=machine.set_threads, clock=machine.clock, **settings)


def test_it_starts_on_one_thread_and_takes_two_where_two_are_faster():
    machine = Machine({2: 0.18, 1: 0.24})  # idle: two threads are faster
    tuner = tuner_on(machine, probe=3, every=10)
    assert machine.applied == [1]  # never the slow case first
    machine.run(tuner, 6)  # three steps to compare with, then the probe
    assert tuner.current == 2 and machine.threads == 2 and tuner.switches == 1


def test_the_choice_follows_the_load_and_a_losing_probe_waits_longer():
    machine = Machine({2: 0.18, 1: 0.24})
    tuner = tuner_on(machine, probe=3, every=10, longest=40)
    machine.run(tuner, 6)
    machine.cost = {2: 0.62, 1: 0.21}  # another process takes a core
    machine.run(tuner, 20)
    assert tuner.current == 1 and machine.threads == 1 and tuner.switches == 2
    # Under that load each probe of two threads loses: the gaps between probes double.
    machine.applied.clear()
    machine.run(tuner, 200)
    probes = machine.applied.count(2)
    assert 3 <= probes <= 7 and tuner.current == 1
    machine.cost = {2: 0.18, 1: 0.24}  # idle again: back to two at the next probe
    machine.run(tuner, 45)
    assert tuner.current == 2


def test_a_probe_within_the_margin_does_not_switch():
    machine = Machine({2: 0.23, 1: 0.24})  # 4% faster: noise, not a reason to switch
    tuner = tuner_on(machine, probe=2, every=5)
    machine.run(tuner, 60)
    assert tuner.current == 1 and tuner.switches == 0 and machine.threads == 1


def test_a_single_count_never_probes():
    machine = Machine({1: 0.2})
    tuner = ThreadTuner([1], set_threads=machine.set_threads, clock=machine.clock, probe=1, every=2)
    machine.run(tuner, 20)
    assert machine.applied == [1] and tuner.current == 1
