"""Data sets that ship with jupyter_dl: ``jupyter_dl.datasets.sample()``."""
from .data.sample_data import sample

__all__ = ["sample"]
