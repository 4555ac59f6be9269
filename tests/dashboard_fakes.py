"""Stand-ins tests share: a settable clock (views, the decode progress line) and a Trainer-like loss source."""
from jupyter_dl.train.losslog import LossLog


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Source:
    """A loss source like the Trainer: a LossLog, and counters of the reads views make."""

    def __init__(self, earlier_steps=0):
        self.log = LossLog()
        self.reads = 0
        self.running_reads = 0
        for _ in range(earlier_steps):  # a previous run on the same trainer
            self.log.append(9.0)

    @property
    def global_step(self):
        return self.log.steps

    def running_loss(self):
        self.running_reads += 1
        return self.log.smoothed()

    def loss_points(self, since=0):
        self.reads += 1
        return self.log.points(since)
