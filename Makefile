# vqcodec developer entry points. Each target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
# Users get a normal torch requirement; CI sets TORCH=torch==2.13.0 (the local CPU build) to avoid a CUDA download.
TORCH ?= torch
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo install lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools>=77"

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q "$(TORCH)"
	@# silence only setuptools' informational "Editable installation" notice (printed for every package-dir mapping)
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install -q -e ".[test,bench]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(VENV)/bin/vqcodec demo --force

lint: $(STAMP)
	$(PY) -m pip install -q ruff mypy
	$(VENV)/bin/ruff check codec cli train bench tests
	$(VENV)/bin/mypy codec --ignore-missing-imports

clean:
	rm -rf $(VENV) build *.egg-info
