"""A pure-PyTorch reader for Darknet ``.cfg`` + ``.weights`` files (the YOLOv3-tiny family), differentiable end to end.

OpenCV 5 dropped its Darknet loader, and gradient methods need the network as an ``nn.Module`` anyway. The reader
knows the layers YOLOv3-tiny uses: ``convolutional`` (batch norm folded in, leaky or linear), ``maxpool`` (a size-2,
stride-1 pool keeps the size: Darknet pads right and bottom), ``upsample`` (nearest), ``route`` and ``yolo``. Its
output is what OpenCV's reader gives per anchor, before OpenCV zeroes class scores below its threshold: one row per
anchor ``[cx, cy, w, h, objectness, p_0 .. p_{C-1}]`` with the box relative to the network input (0..1) and the class
probabilities *not* multiplied by objectness. Rows are ordered by YOLO layer, then grid row, column and anchor, as in
OpenCV. ``tests/test_darknet.py`` checks it against a fixture from OpenCV 4.10's reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hub_models.errors import UserInputError

BATCH_NORM_EPS = 1e-6  # OpenCV's Darknet importer's batch-norm epsilon
LEAKY_SLOPE = 0.1


def parse_cfg(text: str) -> list[dict[str, str]]:
    """The cfg's sections in order, each a dict with its ``type`` and its ``key=value`` lines."""
    sections: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]").strip()})
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][key.strip()] = value.strip()
    return sections


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


class Convolutional(nn.Module):
    def __init__(self, channels: int, section: dict[str, str]) -> None:
        super().__init__()
        size = int(section.get("size", 1))
        padding = size // 2 if int(section.get("pad", 0)) else int(section.get("padding", 0))
        self.batch_norm = int(section.get("batch_normalize", 0)) == 1
        self.conv = nn.Conv2d(
            channels, int(section["filters"]), size, int(section.get("stride", 1)), padding, bias=not self.batch_norm
        )
        self.norm = nn.BatchNorm2d(int(section["filters"]), eps=BATCH_NORM_EPS) if self.batch_norm else None
        activation = section.get("activation", "linear")
        if activation not in ("leaky", "linear"):
            raise UserInputError(f"Darknet activation {activation!r} is not supported (leaky and linear are).")
        self.leaky = activation == "leaky"

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.conv(inputs)
        if self.norm is not None:
            outputs = self.norm(outputs)
        return F.leaky_relu(outputs, LEAKY_SLOPE) if self.leaky else outputs

    def load(self, weights: np.ndarray, offset: int) -> int:
        """Reads this layer's parameters from the flat weights array in Darknet's order; returns the new offset."""
        targets = (
            [self.norm.bias, self.norm.weight, self.norm.running_mean, self.norm.running_var]
            if self.norm is not None
            else [self.conv.bias]
        )
        for tensor in [*targets, self.conv.weight]:
            count = tensor.numel()
            if offset + count > weights.size:
                raise UserInputError("The Darknet weights file is shorter than its cfg needs: it does not match.")
            tensor.data.copy_(torch.from_numpy(weights[offset : offset + count]).view_as(tensor))
            offset += count
        return offset


class MaxPool(nn.Module):
    def __init__(self, section: dict[str, str]) -> None:
        super().__init__()
        self.size = int(section.get("size", 2))
        self.stride = int(section.get("stride", 2))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:  # Darknet pads by size - 1 at the right and bottom, so the map keeps its size
            inputs = F.pad(inputs, (0, self.size - 1, 0, self.size - 1), mode="replicate")
        return F.max_pool2d(inputs, self.size, self.stride)


class Upsample(nn.Module):
    def __init__(self, section: dict[str, str]) -> None:
        super().__init__()
        self.stride = int(section.get("stride", 2))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.interpolate(inputs, scale_factor=self.stride, mode="nearest")


@dataclass(frozen=True)
class Route:
    layers: tuple[int, ...]  # absolute indices of the layers whose outputs are concatenated


class Yolo(nn.Module):
    """Decodes one detection head: (N, A*(5+C), H, W) -> (N, H*W*A, 5+C) rows as OpenCV orders them."""

    def __init__(self, section: dict[str, str], input_size: tuple[int, int]) -> None:
        super().__init__()
        anchors = _ints(section["anchors"])
        pairs = [(anchors[2 * i], anchors[2 * i + 1]) for i in range(len(anchors) // 2)]
        chosen = [pairs[i] for i in _ints(section["mask"])]
        height, width = input_size
        self.register_buffer("anchors", torch.tensor([(w / width, h / height) for w, h in chosen]))
        self.classes = int(section["classes"])

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        batch, _, rows, cols = inputs.shape
        count = self.anchors.shape[0]
        raw = inputs.view(batch, count, 5 + self.classes, rows, cols).permute(0, 3, 4, 1, 2)
        grid_y, grid_x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
        centre_x = (torch.sigmoid(raw[..., 0]) + grid_x[..., None]) / cols
        centre_y = (torch.sigmoid(raw[..., 1]) + grid_y[..., None]) / rows
        size = torch.exp(raw[..., 2:4]) * self.anchors
        scores = torch.sigmoid(raw[..., 4:])
        rows_out = torch.cat([centre_x[..., None], centre_y[..., None], size, scores], dim=-1)
        return rows_out.reshape(batch, rows * cols * count, 5 + self.classes)


class Darknet(nn.Module):
    """A Darknet network built from its cfg. ``forward``: (N, 3, H, W) RGB in [0, 1] -> (N, anchors, 5 + C)."""

    def __init__(self, cfg_text: str) -> None:
        super().__init__()
        sections = parse_cfg(cfg_text)
        if not sections or sections[0]["type"] not in ("net", "network"):
            raise UserInputError("Not a Darknet cfg: it must start with a [net] section.")
        net = sections[0]
        self.input_size = (int(net["height"]), int(net["width"]))
        self.layers = nn.ModuleList()
        self.routes: dict[int, Route] = {}
        self.heads: list[int] = []
        channels = [int(net.get("channels", 3))]  # channels[i + 1]: output channels of layer i
        for index, section in enumerate(sections[1:]):
            kind = section["type"]
            layer: nn.Module = nn.Identity()
            out = channels[-1]
            if kind == "convolutional":
                layer = Convolutional(channels[-1], section)
                out = layer.conv.out_channels
            elif kind == "maxpool":
                layer = MaxPool(section)
            elif kind == "upsample":
                layer = Upsample(section)
            elif kind == "route":
                sources = tuple(i if i >= 0 else index + i for i in _ints(section["layers"]))
                self.routes[index] = Route(sources)
                out = sum(channels[i + 1] for i in sources)
            elif kind == "yolo":
                layer = Yolo(section, self.input_size)
                self.heads.append(index)
                self.classes = layer.classes
            else:
                raise UserInputError(f"Darknet layer [{kind}] is not supported by this reader.")
            self.layers.append(layer)
            channels.append(out)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = []
        detections: list[torch.Tensor] = []
        current = inputs
        for index, layer in enumerate(self.layers):
            if index in self.routes:
                current = torch.cat([outputs[i] for i in self.routes[index].layers], dim=1)
            elif index in self.heads:
                detections.append(layer(current))
            else:
                current = layer(current)
            outputs.append(current)
        return torch.cat(detections, dim=1)

    def load_weights(self, data: bytes) -> None:
        """Darknet's weights file: a header (major, minor, revision, images seen), then each conv layer in order."""
        major, minor, _ = np.frombuffer(data[:12], dtype=np.int32)
        seen_bytes = 8 if major * 10 + minor >= 2 and major < 1000 and minor < 1000 else 4
        weights = np.frombuffer(data[12 + seen_bytes :], dtype=np.float32).copy()
        offset = 0
        for layer in self.layers:
            if isinstance(layer, Convolutional):
                offset = layer.load(weights, offset)
        if offset != weights.size:
            raise UserInputError(
                f"The Darknet weights file holds {weights.size:,} values but its cfg uses {offset:,}: they differ."
            )


def load_darknet(cfg: Path, weights: Path) -> Darknet:
    """The network of ``cfg`` with ``weights`` loaded, in eval mode."""
    network = Darknet(cfg.read_text())
    network.load_weights(weights.read_bytes())
    return network.eval()
