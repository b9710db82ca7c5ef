"""How fast a run trains, from the wall time of its recent slices: the ETA and the speed the
training page shows. Evaluations and logging are inside the slices, so they are counted too."""

from __future__ import annotations

from dataclasses import dataclass, field

RECENT_SLICES = 20  # the pace is read over this many slices, so it follows a run slowing down


@dataclass
class Pace:
    """Wall time spent in a run's slices and the steps they made.

    Example:
        pace = Pace()
        pace.record(2.0, 10)
        pace.seconds_left(5) == 1.0
    """

    seconds: float = 0.0
    steps: int = 0
    recent: list[tuple[float, int]] = field(default_factory=list)  # (seconds, steps) per slice

    def record(self, seconds: float, steps: int) -> None:
        """One slice: `seconds` of training that made `steps` steps."""
        self.seconds += seconds
        self.steps += steps
        self.recent = [*self.recent[-(RECENT_SLICES - 1) :], (seconds, steps)]

    def seconds_left(self, steps_left: int) -> float | None:
        """Seconds for steps_left more steps at the recent pace, None before any step."""
        seconds = sum(s for s, _ in self.recent)
        steps = sum(n for _, n in self.recent)
        return None if not steps else steps_left * seconds / steps

    def per_second(self, per_step: int) -> float | None:
        """What the recent slices made per wall-clock second, at per_step a step (say tokens)."""
        seconds = sum(s for s, _ in self.recent)
        steps = sum(n for _, n in self.recent)
        if not seconds:
            return None
        return steps * per_step / seconds
