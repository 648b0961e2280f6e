"""Our D-RISE score is Xplique's object-detection operator's, on YOLOv3-tiny's real pre-NMS boxes of masked inputs."""

from __future__ import annotations

import numpy as np
import torch

from explainers.detection.target import box_similarity
from explainers.rise import smooth_masks
from explainers.runtime import import_xplique
from hub_models.assets import DARKNET_PHOTOS
from hub_models.images import load_image


def test_box_similarity_equals_xpliques_object_detection_operator(yolo):
    import_xplique()
    import tensorflow as tf
    from xplique.commons.operators import object_detection_operator

    image = load_image(DARKNET_PHOTOS["dog"].path)
    inputs, rows, _ = yolo.boxes(image, letterbox=True)
    target = rows[yolo.detect(image, 0.25)[0].candidate]
    masks = smooth_masks(4, (416, 416), 8, 0.5, torch.Generator().manual_seed(0))
    with torch.no_grad():
        predictions = yolo.module(masks * inputs)
    ours = box_similarity(predictions, target).numpy()
    theirs = object_detection_operator(
        lambda _batch: tf.constant(predictions.numpy()),
        tf.zeros((4, 416, 416, 3)),
        tf.constant(np.repeat(target.numpy()[None], 4, axis=0)),
    ).numpy()
    assert ours.std() > 0.01, "the masks should change how well the box is found"
    # The same formula; Xplique adds a small epsilon to the IoU and cosine denominators (relative effect ~1e-4).
    np.testing.assert_allclose(ours, theirs, rtol=5e-4)
