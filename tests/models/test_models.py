"""models/: names, packaged offline weights, downloads that fail fast, weight files, heads and layer groups."""
import pytest
import torch
from tinynet import TinyNet
from torch import nn

from jupyter_dl.errors import UserInputError
from jupyter_dl.models import DEFAULT_ARCH, available_archs, create_model, hub, rebuild_model
from jupyter_dl.models.offline import PACKAGE_WEIGHTS_LABEL, map_by_position, packaged_weights_path

IMAGENET_CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def _outputs(model: nn.Module, size: int = 32) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0)))


# --- the offline default ----------------------------------------------------

@pytest.mark.parametrize("arch", [None, "efficientnet_lite0", "tf_efficientnet_lite0"])
def test_default_is_lite0_with_packaged_weights(arch):
    bundle = create_model(arch, 4)
    assert (bundle.arch, bundle.source, bundle.weights) == ("tf_efficientnet_lite0", "timm", PACKAGE_WEIGHTS_LABEL)
    assert bundle.mean == (0.5, 0.5, 0.5) and bundle.std == (0.5, 0.5, 0.5)  # timm's cfg for the TF-ported weights
    assert _outputs(bundle.model).shape == (2, 4)
    assert DEFAULT_ARCH == "efficientnet_lite0"


def test_packaged_tensors_land_in_the_body_by_position():
    packaged = list(torch.load(packaged_weights_path(), map_location="cpu", weights_only=True).values())
    state = create_model(None, 7).model.state_dict()
    assert torch.equal(state["conv_stem.weight"], packaged[0])
    assert torch.equal(state["conv_head.weight"], packaged[288])
    assert state["classifier.weight"].shape == (7, 1280)  # the ImageNet head was replaced


def test_map_by_position_refuses_mismatched_shapes():
    source = {"a.weight": torch.zeros(3, 2), "a.bias": torch.zeros(3)}
    target = {"x.weight": torch.zeros(2, 3), "x.bias": torch.zeros(3)}
    with pytest.raises(RuntimeError, match="does not fit"):
        map_by_position(source, target)
    with pytest.raises(RuntimeError, match="tensors"):
        map_by_position(source, {"x.weight": torch.zeros(3, 2)})


@pytest.mark.slow
def test_packaged_weights_recognise_a_cat_photo():
    """The real check that the positional mapping is right: ImageNet top-1 on scikit-image's cat Chelsea."""
    skimage_data = pytest.importorskip("skimage.data")
    import timm.data
    from PIL import Image

    bundle = create_model(None, 1000)
    bundle.model.eval()
    config = timm.data.resolve_data_config({}, model=bundle.model)  # bicubic, crop 0.875, 224 px
    transform = timm.data.create_transform(**{**config, "mean": bundle.mean, "std": bundle.std})
    x = transform(Image.fromarray(skimage_data.chelsea())).unsqueeze(0)
    with torch.no_grad():
        top5 = bundle.model(x).softmax(-1)[0].topk(5).indices.tolist()
    assert top5[0] in {281, 282, 285}
    assert set(top5[:3]) <= IMAGENET_CATS


# --- names --------------------------------------------------------------------

def test_unknown_name_suggests_the_closest_models():
    with pytest.raises(UserInputError, match=r"Unknown model 'resnet34x' \(did you mean resnet34"):
        create_model("resnet34x", 3, pretrained=False)


def test_torchvision_prefix_picks_torchvision_when_timm_has_the_same_name():
    assert create_model("resnet18", 3, pretrained=False).source == "timm"
    bundle = create_model("torchvision:resnet18", 3, pretrained=False)
    assert (bundle.arch, bundle.source, bundle.weights) == ("resnet18", "torchvision", "random")


@pytest.mark.parametrize("arch", ["resnet18", "torchvision:resnet18", "mobilenet_v3_small", "squeezenet1_1"])
def test_no_pretrained_models_output_one_score_per_class(arch):
    bundle = create_model(arch, 5, pretrained=False)
    assert bundle.weights == "random"
    assert _outputs(bundle.model, 64).shape == (2, 5)


def test_bad_class_count_is_a_user_error():
    with pytest.raises(UserInputError, match="positive whole number"):
        create_model(None, 0)


def test_available_archs_names_the_offline_default():
    assert any(line.startswith("efficientnet_lite0") for line in available_archs())


# --- downloads: cached, or a fast clear error ---------------------------------

def _fail_if_called(*args, **kwargs):
    raise AssertionError("a network download was attempted")


@pytest.fixture
def no_hub_downloads(monkeypatch):
    """Any call into huggingface_hub's downloader (the 45 s retry loop offline) fails the test."""
    import timm.models._hub as timm_hub
    monkeypatch.setattr(timm_hub, "hf_hub_download", _fail_if_called)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small"])
def test_missing_download_offline_is_a_clear_error(arch, no_hub_downloads, tmp_path, monkeypatch):
    if hub.can_reach("https://huggingface.co") or hub.can_reach("https://download.pytorch.org"):
        pytest.skip("this machine has network access")
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # nothing cached
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(UserInputError) as raised:
        create_model(arch, 3)
    message = str(raised.value)
    assert "could not be downloaded" in message
    for hint in ("internet", "cache", "--weights FILE", "efficientnet_lite0", "--no-pretrained"):
        assert hint in message


def test_hf_offline_mode_fails_without_trying(no_hub_downloads, tmp_path, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserInputError, match="HF_HUB_OFFLINE"):
        create_model("resnet18", 3)


def test_weights_in_the_hugging_face_cache_are_used_offline(no_hub_downloads, tmp_path, monkeypatch):
    """A file laid out like a huggingface_hub cache entry loads without any network call."""
    import timm
    from huggingface_hub import constants
    from safetensors.torch import save_file

    reference = timm.create_model("resnet18", pretrained=False).state_dict()
    repo = tmp_path / "models--timm--resnet18.a1_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abc")
    (repo / "snapshots" / "0123abc").mkdir(parents=True)
    save_file(reference, str(repo / "snapshots" / "0123abc" / "model.safetensors"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))

    bundle = create_model("resnet18", 3)
    assert bundle.weights == "timm hub"
    assert torch.equal(bundle.model.state_dict()["conv1.weight"], reference["conv1.weight"])
    assert bundle.model.fc.out_features == 3


# --- --weights FILE -------------------------------------------------------------

@pytest.mark.parametrize("layout", ["state_dict.pth", "nested.pt", "plain.safetensors"])
def test_weights_file_round_trip_gives_identical_outputs(layout, tmp_path):
    trained = create_model("resnet18", 3, pretrained=False)
    state = trained.model.state_dict()
    path = tmp_path / layout
    if layout.endswith(".safetensors"):
        from safetensors.torch import save_file
        save_file(state, str(path))
    else:
        torch.save({"model": state, "epoch": 3} if layout.startswith("nested") else state, path)

    loaded = create_model("resnet18", 3, weights=path)  # pretrained=True is ignored when a file is given
    assert loaded.weights.startswith(f"file {path}")
    assert torch.equal(_outputs(trained.model), _outputs(loaded.model))


def test_weights_file_with_another_head_loads_the_body(tmp_path):
    old = create_model("resnet18", 10, pretrained=False)
    path = tmp_path / "ten_classes.pth"
    torch.save(old.model.state_dict(), path)
    new = create_model("resnet18", 4, pretrained=False, weights=path)
    assert torch.equal(new.model.conv1.weight, old.model.conv1.weight)
    assert new.model.fc.out_features == 4
    assert "skipped 2" in new.weights and "fc.weight" in new.weights


def test_weights_file_errors(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        create_model("resnet18", 3, pretrained=False, weights=tmp_path / "missing.pth")
    unrelated = tmp_path / "tiny.pth"
    torch.save(TinyNet(2).state_dict(), unrelated)
    with pytest.raises(UserInputError, match="fit this architecture"):
        create_model("resnet18", 3, pretrained=False, weights=unrelated)
    garbage = tmp_path / "notes.pth"
    garbage.write_text("not a checkpoint")
    with pytest.raises(UserInputError, match="Could not read weights"):
        create_model("resnet18", 3, pretrained=False, weights=garbage)


# --- the user's own nn.Module --------------------------------------------------

def test_user_module_gets_a_head_for_the_classes():
    net = TinyNet(n_classes=2)
    bundle = create_model(net, 5)
    assert bundle.model is net and bundle.source == "module" and bundle.weights == "user module"
    assert net.fc.out_features == 5
    assert bundle.head_params() == list(net.fc.parameters())
    assert bundle.mean == (0.485, 0.456, 0.406)
    assert _outputs(net).shape == (2, 5)


def test_user_module_by_variable_name_and_bad_variables():
    net = TinyNet(n_classes=3)
    assert create_model("net", 3, namespace={"net": net}).model is net
    with pytest.raises(UserInputError, match="holds a list, not a torch nn.Module"):
        create_model("layers", 3, namespace={"layers": [1, 2]})


def test_a_misspelt_model_name_suggests_models_and_the_notebooks_modules():
    with pytest.raises(UserInputError, match=r"Unknown model 'resnet43' \(did you mean resnet34\b"):
        create_model("resnet43", 3, pretrained=False)
    with pytest.raises(UserInputError, match=r"Unknown model 'my_nte' \(did you mean my_net\?\)"):
        create_model("my_nte", 3, namespace={"my_net": TinyNet(), "my_list": [1]})


def test_user_module_cannot_be_rebuilt_by_name():
    with pytest.raises(UserInputError, match="pass the model"):
        rebuild_model("TinyNet", "module", 3)


# --- layer groups and rebuilding ---------------------------------------------------

@pytest.mark.parametrize("arch", ["efficientnet_lite0", "resnet18", "torchvision:resnet18", "mobilenet_v3_small",
                                  "tinynet"])
def test_layer_groups_hold_every_parameter_exactly_once(arch):
    bundle = create_model(TinyNet(4) if arch == "tinynet" else arch, 4, pretrained=False)
    groups = bundle.layer_groups()
    assert len(groups) == 3 and all(groups), "early, late and head must each hold parameters"
    ids = [id(p) for group in groups for p in group]
    assert len(ids) == len(set(ids)) == len(list(bundle.model.parameters()))
    assert groups == bundle.body_groups() + [bundle.head_params()]
    head_outputs = {p.shape[0] for p in bundle.head_params()}
    assert head_outputs == {4}, "the head is the new classifier"


def test_timm_body_splits_at_a_stage_boundary():
    bundle = create_model("resnet18", 3, pretrained=False)
    names = {id(p): n for n, p in bundle.model.named_parameters()}
    early, late = bundle.body_groups()
    assert names[id(early[-1])].startswith("layer2.") and names[id(late[0])].startswith("layer3.")


@pytest.mark.parametrize("arch", [None, "mobilenet_v3_small"])
def test_rebuilt_model_loads_the_saved_state(arch):
    original = create_model(arch, 6, pretrained=arch is None)
    rebuilt = rebuild_model(original.arch, original.source, 6)
    rebuilt.model.load_state_dict(original.model.state_dict())  # strict: same keys and shapes
    assert (rebuilt.mean, rebuilt.std) == (original.mean, original.std)
    assert torch.equal(_outputs(original.model), _outputs(rebuilt.model))


def test_rebuild_of_an_unknown_name_is_a_user_error():
    with pytest.raises(UserInputError, match="Unknown model"):
        rebuild_model("resnet34x", "timm", 3)


def test_unknown_timm_weight_tag_lists_the_known_tags():
    with pytest.raises(UserInputError, match="no weights tagged 'foo': use resnet18.a1_in1k"):
        create_model("resnet18.foo", 3, pretrained=False)


def test_the_feature_extractor_is_the_body_without_the_head():
    """A torchvision-style model: the head becomes Identity, so the output is the pooled features."""
    import torch
    from tinynet import TinyNet

    from jupyter_dl.models.features import extractor_key, feature_extractor

    extractor = feature_extractor(TinyNet())
    assert extractor.key is None                              # a user's module: nothing names its weights
    vectors = extractor.embed(torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8), bs=2)
    assert vectors.shape == (5, 8) and vectors.dtype == "float32"
    assert extractor_key(None) == "timm:tf_efficientnet_lite0:pretrained"
    assert extractor_key("resnet18") == "timm:resnet18:pretrained"
