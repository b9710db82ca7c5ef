"""Watching induction heads form during training: per-head scores and the in-context gap.

Pull-based like the Trainer: the caller trains, and at the steps it chooses calls
`trace.record(step, model)`, which measures the model as it is then and keeps the result. The
phase change shows in two places at once (Olsson et al. 2022): the best induction score jumps,
and the loss on the second copy of a repeated passage falls below the loss on the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from minigpt.analysis.ablation import CopyLosses, copy_losses
from minigpt.analysis.heads import SCORE_NAMES, HeadScores, head_scores

FORMED = 0.5  # an induction score this high means the head mostly copies by content


@dataclass(frozen=True)
class FormingPoint:
    """What the heads do at one step of training."""

    step: int
    scores: HeadScores  # every head's four scores on repeated random segments
    copy: CopyLosses | None  # first vs second copy of the trace's passages (None if none given)

    @property
    def best_induction(self) -> float:
        return self.scores.best("induction")[2]


@dataclass
class FormingTrace:
    """Scores and copy losses recorded at chosen steps of one run, oldest first.

    passages (B, L) are measured written twice at every record, so their first- and second-copy
    losses compare across steps; draw them once, e.g. text_passages(data.val, L) for text the
    model never trained on. Keep L at most half the context.
    """

    passages: torch.Tensor | None = None
    points: list[FormingPoint] = field(default_factory=list)

    @torch.no_grad()
    def record(self, step: int, model: nn.Module) -> FormingPoint:
        """Measure the model now (eval mode, then back as it was) and keep the point."""
        copy = None if self.passages is None else copy_losses(model, self.passages)
        point = FormingPoint(step, head_scores(model), copy)
        self.points.append(point)
        return point

    @property
    def steps(self) -> list[int]:
        return [p.step for p in self.points]

    def stacked(self, name: str) -> torch.Tensor:
        """One score of every head at every recorded step: (S, n_layer, n_head).

        Example: trace.stacked("induction")[-1] is the latest induction score of each head.
        """
        if name not in SCORE_NAMES:
            raise ValueError(f"score must be one of {', '.join(SCORE_NAMES)} (got {name!r})")
        return torch.stack([getattr(p.scores, name) for p in self.points])

    def first_step_above(self, threshold: float = FORMED) -> int | None:
        """The first recorded step at which some head's induction score reached threshold."""
        return next((p.step for p in self.points if p.best_induction >= threshold), None)
