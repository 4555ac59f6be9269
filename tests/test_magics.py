"""Reading a magic's line: exact option names, a usage with examples, one sentence per mistake."""
import pytest
from IPython.core.error import UsageError


@pytest.mark.parametrize("magic, line, expected", [
    ("finetune", "sample --epoch 3", "%finetune has no option --epoch: did you mean --epochs?"),
    ("finetune", "sample --freeze 0", "%finetune has no option --freeze: did you mean --freeze-epochs?"),
    ("finetune", "sample --batch-size 8", "%finetune has no option --batch-size: did you mean --bs?"),
    ("lr_find", "sample --num 10", "%lr_find has no option --num: did you mean --num-it?"),
    ("browse", "data --page 2", "%browse has no option --page: did you mean --page-size?"),
    ("runs", "--lst 2", "%runs has no option --lst: did you mean --last?"),
    ("gpu", "--int 2", "%gpu has no option --int: did you mean --interval?"),
    ("finetune", "sample --zzz", "%finetune has no option --zzz: (%finetune? lists every option)."),
])
def test_options_are_never_abbreviated_and_a_typo_says_what_was_meant(shell, magic, line, expected):
    shell.user_ns["learn"] = before = object()                   # a trained learner from an earlier cell
    with pytest.raises(UsageError) as error:
        shell.run_line_magic(magic, line)
    assert str(error.value).startswith(expected) and "%" + magic + "? lists every option" in str(error.value)
    assert shell.user_ns["learn"] is before                      # nothing ran, nothing was replaced


@pytest.mark.parametrize("magic, examples", [
    ("finetune", ("%finetune sample --epochs 3 --size 64", "%finetune resnet34 data/pets")),
    ("lr_find", ("%lr_find sample --size 64",)),
    ("browse", ("%browse data/pets", "%browse learn")),
])
def test_no_data_shows_the_usage_with_examples(shell, magic, examples):
    with pytest.raises(UsageError) as error:
        shell.run_line_magic(magic, "")
    message = str(error.value)
    assert message.startswith(f"%{magic} needs ") and f"%{magic}? lists every option" in message
    assert all(example in message for example in examples) and "\n" not in message


def test_a_bad_value_names_the_option_and_points_to_the_help(shell):
    with pytest.raises(UsageError, match=r"argument --epochs: invalid int value: 'x' \(%finetune\? lists"):
        shell.run_line_magic("finetune", "sample --epochs x")
    with pytest.raises(UsageError, match=r"takes DATA or ARCH DATA, got 3 words"):
        shell.run_line_magic("finetune", "a b c")


def test_messages_name_the_magics_options_not_python_keywords(shell, tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("file,breed\na.png,cat\n")
    with pytest.raises(UsageError) as error:
        shell.run_line_magic("finetune", f"{table} --quiet")
    assert "pass --path-col and --label-col to name the right ones" in str(error.value)
    assert "path_col=" not in str(error.value)
    # the Python API keeps its own names
    import jupyter_dl
    from jupyter_dl.errors import UserInputError

    with pytest.raises(UserInputError, match="pass path_col= and label_col="):
        jupyter_dl.finetune(table, quiet=True)
