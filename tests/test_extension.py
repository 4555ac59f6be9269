"""%load_ext is instant: no heavy imports; magics register, unload and reload."""
import re
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

HEAVY = ("torch", "torchvision", "timm", "fastai", "plotly", "pandas", "numpy", "PIL")


def test_import_jupyter_dl_imports_nothing_heavy():
    code = f"import sys, jupyter_dl; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_ext_imports_nothing_heavy():
    # IPython's own test shell imports PIL and numpy, so only the ML stack is checked here.
    heavy = ("torch", "torchvision", "timm", "fastai", "plotly", "pandas")
    code = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'jupyter_dl')\n"
        "assert 'finetune' in ip.magics_manager.magics['line']\n"
        f"print('heavy modules:', sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Found by its label: IPython 7's terminal shell writes a terminal-title escape sequence before it.
    assert re.search(r"heavy modules: (.*)$", out.stdout, re.M)[1] == "[]", out.stdout


def test_magics_register_unload_and_reload(shell):
    line = shell.magics_manager.magics["line"]
    assert "finetune" in line and "lr_find" in line
    shell.run_line_magic("unload_ext", "jupyter_dl")
    assert "finetune" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "jupyter_dl")
    shell.run_line_magic("reload_ext", "jupyter_dl")
    assert "finetune" in shell.magics_manager.magics["line"]


@pytest.mark.parametrize("magic", ["finetune", "lr_find"])
def test_help_is_generated_from_the_arguments(shell, magic):
    doc = shell.magics_manager.magics["line"][magic].__doc__
    for option in ("--bs", "--size", "--device", "--weights", "--as"):
        assert option in doc
    if magic == "finetune":
        assert "--epochs" in doc and "--freeze-epochs" in doc and "--lr" in doc


def test_parse_errors_are_usage_errors(shell):
    with pytest.raises(UsageError):
        shell.run_line_magic("finetune", "sample --epochs many")
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("finetune", "a b c")
    assert "DATA or ARCH DATA" in str(err.value)
    with pytest.raises(UsageError, match="--lr"):
        shell.run_line_magic("finetune", "sample --lr fast")
    with pytest.raises(UsageError, match="variable name"):
        shell.run_line_magic("finetune", "sample --as 2x")
