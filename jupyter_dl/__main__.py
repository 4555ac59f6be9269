"""``python -m jupyter_dl finetune [ARCH] DATA [options]``: see :mod:`jupyter_dl.cli`."""
import sys

from jupyter_dl.cli import main

if __name__ == "__main__":  # spawned worker processes import this module again: they must not run main()
    sys.exit(main())
