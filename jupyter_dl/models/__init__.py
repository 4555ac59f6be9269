"""Model registry: timm / torchvision names, the packaged offline weights, local weight files,
the user's own nn.Module; head swap and the body/head split for fine-tuning."""
from jupyter_dl.models.registry import (
    DEFAULT_ARCH,
    ModelBundle,
    available_archs,
    create_model,
    rebuild_model,
)

__all__ = ["DEFAULT_ARCH", "ModelBundle", "available_archs", "create_model", "rebuild_model"]
