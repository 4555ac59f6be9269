"""Turning one image (a file, a PIL image, an array or a tensor) into model-ready pixels.

:func:`load_square` (= :func:`open_image` + :func:`to_square_uint8`) is the one
preprocessing step used by the decode cache *and* by prediction, so a model sees
the same pixels at training time and at prediction time.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..errors import UserInputError

if TYPE_CHECKING:  # heavy imports happen inside the functions
    import numpy
    import PIL.Image
    import torch

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

_EXIF_ORIENTATION = 0x0112


class UnreadableImageError(UserInputError):
    """An image that cannot be decoded; ``reason`` is a short phrase for listings of skipped files.

    ``kind``: "missing", "folder", "format", "permission", "too large", "damaged" (a file) or "input"
    (an object that is no image); ``message`` replaces the default sentence.
    """

    def __init__(self, source: Any, reason: str, *, kind: str = "input", message: str | None = None) -> None:
        super().__init__(message or f"Could not read the image {source}: {reason}; check the file or remove it.")
        self.source = source
        self.reason = reason
        self.kind = kind


_F = TypeVar("_F", bound=Callable[..., Any])


def prediction_message(error: UnreadableImageError) -> str:
    """One sentence for an image given to predict that cannot be read: which one, and what to pass instead."""
    source, kind = error.source, error.kind
    if kind == "missing":
        where = "" if Path(source).is_absolute() else f" and the current directory, {os.getcwd()}"
        return f"{source} does not exist: pass the path of an image file (check the spelling{where})."
    if kind == "folder":
        return (f"{source} is a folder: pass the path of one image file (predict_batch takes a list of files; "
                "evaluate(folder) scores a labelled folder).")
    if kind == "permission":
        return f"{source} cannot be read (no permission): check the file's permissions, or pass another image."
    if kind in ("format", "damaged", "too large"):
        return (f"{source} is not an image PIL can read ({error.reason}): pass a JPEG, PNG, BMP, GIF, WebP or "
                "TIFF file that opens in an image viewer.")
    return f"Cannot predict on the {source}: {error.reason}."


def prediction_errors(method: _F) -> _F:
    """Decorate a predict method: an image it cannot read is one :class:`UnreadableImageError` that fits
    prediction (:func:`prediction_message`), raised here ``from None`` so its traceback is the user's call
    and this line, not the decoder's frames."""
    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except UnreadableImageError as exc:
            raise UnreadableImageError(exc.source, exc.reason, kind=exc.kind,
                                       message=prediction_message(exc)) from None
    return checked  # type: ignore[return-value]


def is_image_file(path: str | os.PathLike) -> bool:
    """True for a non-hidden file name with one of :data:`IMAGE_EXTENSIONS` (any case)."""
    name = os.path.basename(os.fspath(path))
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def open_image(src: Any, *, draft_size: int | None = None) -> PIL.Image.Image:
    """Return ``src`` as an RGB PIL image.

    ``src`` may be a file path, a PIL image, or a uint8/float array or tensor laid
    out CHW, HWC or HW (floats are read as 0..1, or 0..255 when larger than 1).
    ``draft_size`` lets the JPEG decoder shrink by a power of two while keeping
    both sides >= draft_size (much faster for big photos; see :func:`load_square`).
    Raises :class:`UnreadableImageError` (a UserInputError) when it is no image.
    """
    from PIL import Image

    if isinstance(src, (str, os.PathLike)):
        return _open_file(Path(src), draft_size)
    if isinstance(src, Image.Image):
        return _as_rgb(src)
    if hasattr(src, "shape") and hasattr(src, "dtype"):
        return Image.fromarray(_array_to_hwc_uint8(src))
    raise UnreadableImageError(
        f"of type {type(src).__name__}",
        "expected a file path, a PIL image, or an image array/tensor",
    )


def to_square_uint8(img: PIL.Image.Image, size: int) -> torch.Tensor:
    """Resize the shorter side to ``size`` and centre-crop: a uint8 tensor 3 x size x size."""
    import numpy as np
    import torch
    from PIL import Image

    width, height = img.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    # Crop box and resize in one resampling pass; reducing_gap first box-shrinks
    # big images, which is several times faster and visually identical.
    square = img.resize((size, size), Image.Resampling.BILINEAR,
                        box=(left, top, left + side, top + side), reducing_gap=3.0)
    if square.mode != "RGB":
        square = square.convert("RGB")
    return torch.from_numpy(np.array(square, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def load_square(src: Any, size: int) -> torch.Tensor:
    """The preprocessing shared by training and prediction: any image -> uint8 3 x size x size.

    A tensor that is already 3 x size x size skips the PIL round trip.
    """
    fast = _already_square(src, size)
    if fast is not None:
        return fast
    return to_square_uint8(open_image(src, draft_size=size), size)


def _open_file(path: Path, draft_size: int | None) -> PIL.Image.Image:
    from PIL import Image

    try:
        with Image.open(path) as img:  # closes the file, also when decoding fails
            if draft_size and img.format == "JPEG":
                img.draft(None, (draft_size, draft_size))
            img.load()  # decode now, so a damaged file fails here and not later
            rgb = _as_rgb(img)
            # Multi-frame files (GIF, TIFF) keep their file open after load(): detach the pixels.
            return rgb.copy() if rgb is img and getattr(img, "fp", None) is not None else rgb
    except FileNotFoundError:
        raise UnreadableImageError(path, "the file does not exist", kind="missing") from None
    except IsADirectoryError:
        raise UnreadableImageError(path, "it is a folder, not a file", kind="folder") from None
    except PermissionError:
        raise UnreadableImageError(path, "no permission to read the file", kind="permission") from None
    except Image.UnidentifiedImageError:
        raise UnreadableImageError(path, "not a recognised image format", kind="format") from None
    except Image.DecompressionBombError:
        raise UnreadableImageError(path, "the image is too large to decode safely", kind="too large") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # PIL reports damaged data as OSError ("image file is truncated"), SyntaxError or ValueError.
        raise UnreadableImageError(path, f"damaged image data ({exc})", kind="damaged") from None


def _as_rgb(img: PIL.Image.Image) -> PIL.Image.Image:
    from PIL import ImageOps

    if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # phone photos stored sideways
        img = ImageOps.exif_transpose(img)
    return flatten_to_rgb(img)


def flatten_to_rgb(img: PIL.Image.Image) -> PIL.Image.Image:
    """Any mode -> RGB: transparency composited on white, 16-bit and float images scaled to 0..255.

    Never PIL's plain ``convert("RGB")`` of a palette image with transparency, which prints a
    UserWarning ("Palette images with Transparency expressed in bytes ...") into the cell's output.
    """
    if img.mode == "RGB":
        return img
    has_alpha = img.mode in ("LA", "RGBA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        # Composite on white: transparent pixels often hold black or junk colours.
        from PIL import Image

        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _high_depth_to_rgb(img)
    return img.convert("RGB")


def _high_depth_to_rgb(img: PIL.Image.Image) -> PIL.Image.Image:
    import numpy as np
    from PIL import Image

    values = np.asarray(img, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(scaled.round().astype(np.uint8)).convert("RGB")


def _array_to_hwc_uint8(array: Any) -> numpy.ndarray:
    import numpy as np

    if hasattr(array, "detach"):  # torch tensor
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise UnreadableImageError(f"array of shape {tuple(array.shape)}", "expected CHW, HWC or HW")
    if array.shape[0] in (1, 3, 4) and array.shape[2] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # CHW -> HWC
    if array.dtype != np.uint8:
        array = _float_to_uint8(array.astype(np.float32))
    channels = array.shape[2]
    if channels == 1:
        array = np.repeat(array, 3, axis=2)
    elif channels == 4:
        array = array[:, :, :3]
    elif channels != 3:
        raise UnreadableImageError(f"array of shape {tuple(array.shape)}", "expected 1, 3 or 4 channels")
    return np.ascontiguousarray(array)


def _float_to_uint8(array: numpy.ndarray) -> numpy.ndarray:
    import numpy as np

    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise UnreadableImageError(
            f"array with values from {low:.3g} to {high:.3g}",
            "pixel values must be 0..1 or 0..255 (remove any Normalize transform: jupyter_dl normalises itself)",
        )
    scale = 255.0 if high <= 1.0 else 1.0
    return (array * scale).round().clip(0, 255).astype(np.uint8)


def _already_square(src: Any, size: int) -> torch.Tensor | None:
    import torch

    if not isinstance(src, torch.Tensor) or tuple(src.shape) != (3, size, size):
        return None
    if src.dtype == torch.uint8:
        return src.detach().cpu().contiguous()
    if src.is_floating_point():
        low, high = float(src.min()), float(src.max())
        if low >= 0 and high <= 1.0:
            return (src.detach().cpu() * 255).round().to(torch.uint8).contiguous()
    return None
