# lightning_unlearn: `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Methods for `make demo`: comma-separated names of configs/methods/*.yaml, or `all` (default: feature_constraint).
METHODS ?= feature_constraint
OUT ?= runs/demo

.DEFAULT_GOAL := help
.PHONY: help install demo test lint clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install the package with its dev extras

demo: install ## Train the original, retrain, unlearn one digit class; print and write runs/demo/report.{json,md}
	$(VENV)/bin/lightning-unlearn experiment --config configs/demo/experiment.yaml --out_dir $(OUT) \
		--methods '[$(subst $(space),$(comma),$(patsubst %,"%",$(subst $(comma), ,$(METHODS))))]'

test: install ## Run the whole test suite
	$(VENV)/bin/pytest

lint: install ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check lightning_unlearn tests benchmarks
	$(VENV)/bin/ruff format --check lightning_unlearn tests benchmarks
	$(VENV)/bin/mypy

clean: ## Remove runs/ and caches (keeps .venv)
	rm -rf runs .pytest_cache .mypy_cache .ruff_cache

comma := ,
space := $(subst ,, )
