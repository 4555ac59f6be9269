# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs the project into it first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-js lint lab bench install clean dist test-colab

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Fine-tune the packaged pretrained model on the embedded sample data, headless,
# through a real kernel; writes out/quickstart.ipynb and out/quickstart.html.
demo: $(STAMP)
	$(PY) examples/run_notebook.py examples/quickstart.ipynb --out out

test: $(STAMP) test-js lint
	$(PY) -m pytest

# Python habits: ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade, simplify, docstrings) and mypy.
lint: $(STAMP)
	$(VENV)/bin/ruff check jupyter_dl tests benchmarks examples
	$(VENV)/bin/mypy

# The JupyterLab extension's own checks: jest unit tests, then prettier + eslint.
# (pip install already ran jlpm install in js/ while building the extension.)
test-js: $(STAMP)
	cd js && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm install --immutable && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm test && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm lint:check

# An sdist and a wheel in dist/, with the JupyterLab extension's production build inside (a wheel
# installs without node or JupyterLab). `jlpm clean:all` first: hatch ships whatever build is in
# jupyter_dl/labextension, so a development build left there by `pip install -e` would ship too.
# python -m build makes the sdist, then the wheel from the sdist (so the sdist is complete).
dist: $(STAMP)
	rm -rf dist
	cd js && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm clean:all
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m build --outdir dist .

# Google Colab's stack (.ci/colab-constraints.txt) in .venv-colab with the wheel from dist/, and the
# tests that run there (docs/install.md, CONTRIBUTING.md "Test environments").
test-colab:
	bash .ci/colab-env
	bash .ci/colab-test

lab: $(STAMP)
	$(VENV)/bin/jupyter lab examples

bench: $(STAMP)
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_finetune.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_monitor.py
	$(PY) benchmarks/bench_browse.py
	$(PY) benchmarks/bench_label.py

clean:
	rm -rf out runs .pytest_cache
