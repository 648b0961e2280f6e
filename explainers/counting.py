"""A transparent wrapper that counts the images a method sends through the model and reports progress.

Every model batch of every explainer goes through it, so it is also where a request is stopped (``limits``)."""

from __future__ import annotations

import torch
from torch import nn

from explainers.base import ProgressFn
from explainers.limits import EXPLANATION_ADVICE, check_request


class CountingModel(nn.Module):
    """Forwards to ``model``; after each batch reports ``evaluations / expected`` to ``progress``. Before each batch,
    stops the request when it has run out of time or its client has gone (``limits.check_request``)."""

    def __init__(self, model: nn.Module, expected: int, progress: ProgressFn | None = None) -> None:
        super().__init__()
        self.model = model
        self.expected = max(1, expected)
        self.progress = progress
        self.evaluations = 0
        self.training = False
        if model.training:  # a loaded model is in eval mode already: walking every module again costs ~1 ms a call
            model.eval()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.before_batch()
        outputs = self.model(inputs)
        self.after_batch(int(inputs.shape[0]))
        return outputs

    def before_batch(self) -> None:
        """Stops the request here if it must stop (what a batch of any framework calls before it runs)."""
        check_request(f"{self.evaluations:,} of about {self.expected:,} model evaluations", EXPLANATION_ADVICE)

    def after_batch(self, images: int) -> None:
        """Counts a batch of ``images`` that ran, and reports the progress."""
        self.evaluations += images
        if self.progress is not None:
            done = min(1.0, self.evaluations / self.expected)
            self.progress(done, f"{self.evaluations} of about {self.expected} model evaluations")
