"""Fixtures of the labelling tests: the sample's real embeddings (slow), a counted stand-in for the model."""
from __future__ import annotations

import pytest
import torch
from tinynet import TinyNet

import jupyter_dl.labelling.embeddings as embeddings_module
from jupyter_dl.models.features import FeatureExtractor


@pytest.fixture(scope="session")
def sample_embeddings(tmp_path_factory):
    """The sample's 1797 digits embedded with the packaged efficientnet_lite0 (once per test session)."""
    import os

    from jupyter_dl.labelling import embed

    previous = os.environ.get("JUPYTER_DL_CACHE")
    os.environ["JUPYTER_DL_CACHE"] = str(tmp_path_factory.getbasetemp() / "jdl-cache")  # the session's cache
    try:
        return embed("sample", quiet=True)
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_DL_CACHE", None)
        else:
            os.environ["JUPYTER_DL_CACHE"] = previous


@pytest.fixture
def counted(monkeypatch):
    """The default model's extractor replaced by a tiny body whose forward calls are counted (the cache key
    stays the default model's, so the disk cache is used as it is for efficientnet_lite0)."""
    calls = {"forward": 0, "builds": 0}
    body = TinyNet()
    body.fc = torch.nn.Identity()

    def forward_hook(*_):
        calls["forward"] += 1

    body.register_forward_hook(forward_hook)

    def fake_extractor(arch=None, *, device="cpu", weights=None, namespace=None):
        calls["builds"] += 1
        return FeatureExtractor(body.eval(), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), torch.device("cpu"), "tiny")

    monkeypatch.setattr(embeddings_module, "feature_extractor", fake_extractor)
    return calls
