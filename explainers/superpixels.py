"""What LIME and KernelSHAP share: the superpixels they switch on and off, the model's scores on the switched images,
the weighted linear fit, and the painting of one weight per superpixel back onto the pixels.

Both methods are ``segments -> coalitions -> perturbed_scores -> fit -> paint``; they differ only in how the on/off
vectors are drawn, how the samples are weighted and how strongly the fit is regularised. These functions take and
return NumPy arrays, so a benchmark can feed the same samples to another library (Captum) and compare.

Xplique's default segmentation (quickshift) gives ~850 tiny segments and noisy maps; ~50 SLIC segments give readable
ones.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.segmentation import slic

from explainers.base import Param, Problem

SEGMENTS_PARAM = Param("n_segments", int, default=50, fast=50, minimum=4, maximum=400, help="SLIC superpixels.")

BASELINE = 0.5
"""The value a switched-off superpixel takes in every channel of the *normalised* input: Xplique's default
``ref_value`` for RGB images, which it calls grey because it assumes inputs in [0, 1]. Fed normalised inputs (as
Xplique was here, and as our models take them), it is the mean colour plus half a standard deviation: a light grey.
Kept so that the native maps are Xplique's."""


def superpixels(problem: Problem, n_segments: int) -> np.ndarray:
    """HxW int32 segment labels 0..K-1 of the un-normalised RGB image at the model's input size."""
    segments = slic(problem.rgb, n_segments=n_segments, compactness=10.0, start_label=0, channel_axis=-1)
    return segments.astype(np.int32)


@torch.no_grad()
def perturbed_scores(
    problem: Problem, segments: np.ndarray, samples: np.ndarray, baseline: float = BASELINE
) -> np.ndarray:
    """The target's score (logit) for each on/off sample: ``(N,)`` float64, one model evaluation per sample.

    Sample ``i``'s image keeps the pixels of the superpixels it switches on and sets the others to ``baseline``:
    ``baseline + on[segments] * (x - baseline)``, Xplique's ``x * mask + (1 - mask) * ref_value``. Each batch of
    ``problem.batch_size`` images is one gather (``index_select``: twice as fast here as indexing with the HxW label
    array) and one fused multiply-add, written directly in channels-last memory (MobileNetV2 runs ~1.45x faster on
    it here), from tensors prepared once.
    """
    # HxWx3 in its own memory: a permuted view of the CHW input would make every batch below contiguous NCHW
    # (TensorIterator follows the operands' strides), and the model would run at its slower contiguous speed.
    image = problem.inputs[0].permute(1, 2, 0).contiguous()
    offset = torch.full_like(image, baseline)
    difference = image - offset
    labels = torch.from_numpy(np.asarray(segments, dtype=np.int64).ravel())
    switches = torch.from_numpy(np.asarray(samples, dtype=np.float32))
    scores = torch.empty(len(switches), dtype=torch.float64)
    for start in range(0, len(switches), problem.batch_size):
        chunk = switches[start : start + problem.batch_size]
        kept = torch.index_select(chunk, 1, labels).view(len(chunk), *image.shape[:2], 1)  # BxHxWx1
        batch = torch.addcmul(offset, kept, difference).permute(0, 3, 1, 2)  # NCHW view of NHWC memory
        scores[start : start + len(kept)] = problem.model(batch)[:, problem.target].double()
    return scores.numpy()


def fit_linear(samples: np.ndarray, scores: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """The coefficients of a weighted linear model with an intercept: scikit-learn's ``Ridge(alpha)`` (``alpha > 0``)
    or ``LinearRegression()`` (``alpha == 0``) with ``sample_weight=weights``, in float64.

    As scikit-learn does: centre the samples and scores on their weighted means (the intercept, not returned),
    scale the rows by ``sqrt(weight)``, then solve ``(X'X + alpha I) w = X'y``; for ``alpha == 0`` the
    minimum-norm least-squares solution (``gelsd``, as ``scipy.linalg.lstsq``), so that fewer samples than
    superpixels still give LinearRegression's answer.
    """
    x = torch.as_tensor(np.asarray(samples), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(scores), dtype=torch.float64)
    w = torch.as_tensor(np.asarray(weights), dtype=torch.float64)
    share = (w / w.sum()).unsqueeze(1)
    root = w.sqrt().unsqueeze(1)
    xs = (x - (share * x).sum(dim=0)) * root
    ys = (y.unsqueeze(1) - (share * y.unsqueeze(1)).sum(dim=0)) * root
    if alpha == 0:
        return torch.linalg.lstsq(xs, ys, driver="gelsd").solution[:, 0].numpy()
    gram = xs.T @ xs + alpha * torch.eye(x.shape[1], dtype=torch.float64)
    return torch.linalg.solve(gram, xs.T @ ys)[:, 0].numpy()


def paint(weights: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """HxW float32 map: every pixel gets its superpixel's weight (Xplique's ``_broadcast_explanation``)."""
    return np.asarray(weights, dtype=np.float32)[segments]
