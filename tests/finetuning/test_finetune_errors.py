"""Bad input to %finetune: exactly UsageError, one sentence naming problem and fix, nothing lost."""
import pytest
import torch
from imagegen import make_corrupt_file, make_image_folder
from IPython.core.error import UsageError


def usage_error(shell, line: str) -> str:
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("finetune", line)
    assert type(err.value) is UsageError  # exactly that class: IPython prints it as one line
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_path_does_not_exist(shell, tmp_path):
    assert "does not exist" in usage_error(shell, f"{tmp_path / 'nowhere'}")


def test_folder_without_images(shell, tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "a" / "notes.txt").write_text("hello")
    assert "no images" in usage_error(shell, f"{tmp_path / 'empty'}").lower()


def test_only_one_class(shell, tmp_path):
    root = make_image_folder(tmp_path / "one", classes={"cat": 4}, size=16)
    assert "one class" in usage_error(shell, f"{root}").lower()


def test_a_class_without_images(shell, tmp_path):
    root = make_image_folder(tmp_path / "gap", classes={"cat": 4, "dog": 4}, size=16)
    (root / "bird").mkdir()
    assert "bird" in usage_error(shell, f"{root}")


def test_all_files_corrupt(shell, tmp_path, tiny):
    root = tmp_path / "bad"
    for cls in ("a", "b"):
        for i in range(3):
            make_corrupt_file(root / cls / f"{i}.jpg")
    message = usage_error(shell, f"{tiny} {root} --size 16 --quiet")
    assert "unreadable" in message.lower() or "corrupt" in message.lower()


def test_csv_missing_columns(shell, tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("file,kind\na.png,cat\n")
    message = usage_error(shell, f"{csv}")
    assert "label" in message and "file" in message  # names the missing and the existing columns


def test_csv_pointing_to_missing_files(shell, tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\nnope1.png,cat\nnope2.png,dog\n")
    assert "missing" in usage_error(shell, f"{csv}").lower() or "not found" in usage_error(shell, f"{csv}").lower()


def test_regex_matching_nothing(shell, folder):
    message = usage_error(shell, f"{folder / 'cat'} --label-re '^(zebra)_.*$'")
    assert "match" in message.lower()


def test_unknown_arch_suggests_close_names(shell, folder):
    message = usage_error(shell, f"resnet34x {folder}")
    assert "resnet34" in message


def test_a_misspelt_model_or_folder_gets_a_did_you_mean(shell, folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    assert "(did you mean resnet34" in usage_error(shell, "resnet43 pets")
    assert "(did you mean pets?)" in usage_error(shell, "resnet34 pest")
    assert "(did you mean pets/cat?)" in usage_error(shell, "pets/cta")


def test_pretrained_weights_unreachable_offline(shell, folder):
    message = usage_error(shell, f"resnet18 {folder} --size 16")
    assert "--weights" in message or "no-pretrained" in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda(shell, folder):
    assert "cuda" in usage_error(shell, f"{folder} --device cuda").lower()


@pytest.mark.parametrize("option", ["--epochs 0", "--bs -1", "--size 0", "--freeze-epochs -2", "--valid-pct 1.5"])
def test_non_positive_numbers(shell, folder, option):
    assert option.split()[0] in usage_error(shell, f"{folder} {option}")


def test_variable_of_unsupported_type(shell):
    shell.user_ns["numbers"] = {1, 2, 3}
    message = usage_error(shell, "numbers")
    assert "set" in message


def test_bad_input_keeps_the_previous_learner(shell, folder, tiny):
    shell.run_line_magic("finetune", f"{tiny} {folder} --size 16 --epochs 1 --freeze-epochs 0 --quiet")
    learner = shell.user_ns["learn"]
    usage_error(shell, f"{folder} --epochs 0")
    assert shell.user_ns["learn"] is learner


def test_corrupt_files_are_skipped_and_counted(shell, tmp_path, tiny, capsys):
    root = make_image_folder(tmp_path / "mixed", classes={"cat": 5, "dog": 5}, size=16)
    make_corrupt_file(root / "cat" / "broken.jpg")
    first = sorted((root / "dog").iterdir())[0]
    (root / "dog" / "truncated.png").write_bytes(first.read_bytes()[:40])
    shell.run_line_magic("finetune", f"{tiny} {root} --size 16 --epochs 1 --freeze-epochs 0 --quiet")
    learner = shell.user_ns["learn"]
    assert len(learner.loaders.skipped) == 2
    assert learner.loaders.n_train + learner.loaders.n_valid == 10
    assert "Skipped 2 unreadable files" in capsys.readouterr().out
