# Two commands for a new user: `make run` (the main job) and `make test` (the whole test suite).
# Each creates the virtual environment and installs the pinned stack when it is missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
KEDRO  := $(VENV)/bin/kedro
ENV    ?= base
PIPELINE ?= refine

export KEDRO_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export MPLBACKEND := Agg
export KEDRO_LOGGING_CONFIG := conf/logging.yml
# the DAG's shape (number of refinement rounds) is read from this env's conf
export KEDRO_ENV := $(ENV)

.PHONY: install run test lint clean-data

$(VENV)/.installed: requirements.txt requirements-lock.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch from the machine's wheels (keep pip's constraint file; never uv/poetry for torch)
	$(PIP) install --quiet torch==2.14.1 torchvision==0.29.1
	$(PIP) install --quiet -r requirements.txt -c requirements-lock.txt
	# alone and without deps: torchattacks pins an old `requests` that breaks dvc
	$(PIP) install --quiet --no-deps torchattacks==3.5.1
	$(PIP) install --quiet --no-deps pyautoattack==0.2.0
	# only for its frost images (CIFAR-10-C); its opencv/numba deps are not needed
	$(PIP) install --quiet --no-deps imagecorruptions-imaug==1.1.5
	$(PIP) install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(KEDRO) run --pipelines $(PIPELINE) --env $(ENV)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
