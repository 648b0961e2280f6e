"""A model's card as Markdown: what it is, where it came from, what it takes and what it predicts."""

from __future__ import annotations

from hub_models.loaded_model import LoadedModel, Preprocessing

CURATED_HUB_MODELS: list[tuple[str, str]] = [
    ("timm/resnet50.a1_in1k (timm, ImageNet)", "timm/resnet50.a1_in1k"),
    ("timm/convnext_tiny.fb_in22k_ft_in1k (timm, ImageNet)", "timm/convnext_tiny.fb_in22k_ft_in1k"),
    ("timm/efficientnet_b0.ra_in1k (timm, ImageNet)", "timm/efficientnet_b0.ra_in1k"),
    ("timm/vit_small_patch16_224.augreg_in21k_ft_in1k (timm, ViT)", "timm/vit_small_patch16_224.augreg_in21k_ft_in1k"),
    ("timm/resnet50.a1_in1k in Keras (KerasHub's timm converter, explained by Xplique)", "keras:timm/resnet50.a1_in1k"),
    ("microsoft/resnet-50 (transformers, ImageNet)", "microsoft/resnet-50"),
    ("facebook/convnext-tiny-224 (transformers, ImageNet)", "facebook/convnext-tiny-224"),
    ("google/vit-base-patch16-224 (transformers, ViT)", "google/vit-base-patch16-224"),
]
"""Good choices offered in the model dropdown as (label, Hub id); any other id can be typed. ``keras:`` loads a timm
checkpoint in Keras (``hub_models.keras_models``)."""


def model_card(model: LoadedModel) -> str:
    """Id (linked), revision, license, parameter count (as published), input size, classes, the evaluation
    preprocessing, batch norms folded and download size, as Markdown."""
    source = model.source
    parameters = int(source.get("parameters") or sum(p.numel() for p in model.module.parameters()))
    height, width = model.preprocessing.input_size
    model_id = source.get("id", model.name)
    title = f"[{model_id}]({source['url']})" if source.get("url") else f"`{model_id}`"
    kind = {"embedded": "embedded, works with no network"}.get(source.get("kind", ""), source.get("kind", "?"))
    lines = [f"**{title}** ({kind})"]
    if source.get("revision"):
        lines.append(f"revision `{source['revision']}` (asked for `{source.get('requested_revision', 'main')}`)")
    lines.append(
        f"license {source.get('license', 'unknown')} · {_count(parameters)} parameters · "
        f"input {height}x{width} · {model.n_classes:,} classes"
    )
    if model.framework == "keras":
        backbone = getattr(model.module, "backbone_class", "")
        lines.append(f"Keras 3 on TensorFlow ({backbone}): its methods run in Xplique")
    if isinstance(model.preprocessing, Preprocessing):  # a classifier's; a detector's is always its letterbox
        lines.append(f"preprocessing (framing 'crop'): {model.preprocessing.describe()}")
    if int(source.get("batch_norms_folded") or 0):
        folded = source["batch_norms_folded"]
        lines.append(f"{folded} batch norms folded into their convolutions (same outputs, faster)")
    if source.get("download_bytes"):
        lines.append(f"download {int(source['download_bytes']) / 1e6:,.1f} MB")
    return "  \n".join(lines)


def _count(n: int) -> str:
    return f"{n / 1e6:,.1f} M" if n >= 1_000_000 else f"{n:,}"
