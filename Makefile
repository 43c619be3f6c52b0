# Two commands for a new user: `make run` (the main job) and `make test` (the whole test suite).
# Each creates the virtual environment and installs the pinned stack when it is missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
KEDRO  := $(VENV)/bin/kedro
# the project needs Python 3.11: python3.11 when it is on PATH, else python3 (checked before use)
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
# `local` is Kedro's default run env: conf/base with your overrides in conf/local on top
ENV    ?= local
# the pipeline `make run` runs: the env's own where it has one (decoy_fmnist: the decoy benchmark)
PIPELINE ?= $(if $(filter decoy_fmnist decoy_fmnist_paper,$(ENV)),decoy,refine)
TEST_WORKERS ?= auto

export KEDRO_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export MPLBACKEND := Agg
export KEDRO_LOGGING_CONFIG := conf/logging.yml
# the env of every kedro (and dvc) command: the DAG's shape and the parameters come from its conf
export KEDRO_ENV := $(ENV)

.PHONY: install run paper-smoke bench bench-resume test test-fast lint clean-data check-python

# the venv's interpreter when it exists, else $(PYTHON): 3.11, or stop with what to do
check-python:
	@interpreter="$(if $(wildcard $(PY)),$(PY),$(PYTHON))"; \
	"$$interpreter" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  found=$$("$$interpreter" --version 2>/dev/null || echo "not found"); \
	  echo "limeguard needs Python 3.11, but $$interpreter is: $$found." >&2; \
	  echo "Install Python 3.11 (python3.11 on PATH) or name it: make PYTHON=/path/to/python3.11 ..." >&2; \
	  if [ -e "$(PY)" ]; then echo "($(VENV) was made with it: remove $(VENV) first.)" >&2; fi; \
	  exit 1; }

$(VENV)/.installed: requirements.txt requirements-lock.txt pyproject.toml | check-python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
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

# the paper env at toy size, on this machine's CPU (a few minutes): conf/paper with the sizes of
# conf/paper_smoke.yml, derived into the git-ignored conf/paper_smoke/; every node of `refine`,
# files under data/paper_smoke/ (docs/gpu.md). SMOKE_DEVICE=cuda runs it on a GPU.
paper-smoke: install
	$(PY) -m limeguard.derived_env conf/paper_smoke.yml
	KEDRO_ENV=paper_smoke $(KEDRO) run --pipelines refine --env paper_smoke$(if $(SMOKE_DEVICE), --params runtime.device=$(SMOKE_DEVICE))

# the benchmark scale: the job on 12 seeds (about 4 h here), AutoAttack on 5,000 test images (files under data/bench/)
bench: install
	KEDRO_ENV=bench $(KEDRO) run --pipelines seeds --env bench

# the same after an interruption (same code and parameters): nodes whose saved outputs all exist are
# skipped (Kedro's --only-missing-outputs), an interrupted training resumes from its checkpoint
bench-resume: install
	KEDRO_ENV=bench $(KEDRO) run --pipelines seeds --env bench --only-missing-outputs

# the suite on one pytest-xdist worker per core (tests that share a finished run stay on one
# worker: the plugin tests/xdist_groups.py); TEST_WORKERS=0 runs it in this process
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# for development: the suite without the end-to-end kedro/dvc runs (marked `slow`)
test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

# every generated artifact under data/ (all envs); keeps the raw inputs (data/01_raw), .gitkeep
# and .dvc files. `dvc checkout` restores the tracked run from the DVC cache.
clean-data:
	find data -type f ! -path 'data/01_raw/*' ! -name .gitkeep ! -name '*.dvc' -print -delete
	find data -mindepth 1 -type d -empty ! -path data/01_raw ! -path 'data/01_raw/*' -print -delete
