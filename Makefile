# lightning_unlearn: `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Methods for `make demo`: comma-separated names of configs/methods/*.yaml, or `all` (default: feature_constraint).
METHODS ?= feature_constraint
OUT ?= runs/demo

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench throughput clean

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

bench: install ## CPU-scale CIFAR-10 grid (every method x 3 seeds, 2 scenarios; under 30 min on 2 cores, cached)
	@if [ -f ../shared/data/cifar10_jpeg.npz ]; then \
		[ -d .data/cifar10/train ] || $(PYTHON) ../shared/tools/cifar10_imagefolder.py .data/cifar10; \
		$(VENV)/bin/lightning-unlearn grid --config configs/bench/cifar10_cpu/grid.yaml; \
	else \
		echo "../shared not found: torchvision downloads CIFAR-10 into ./data"; \
		$(VENV)/bin/lightning-unlearn grid --config configs/bench/cifar10_cpu/grid_download.yaml; \
	fi

throughput: install ## Lightning vs plain PyTorch images/s; last line: the two ratios
	$(PY) benchmarks/throughput.py

lint: install ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check lightning_unlearn tests benchmarks
	$(VENV)/bin/ruff format --check lightning_unlearn tests benchmarks
	$(VENV)/bin/mypy

clean: ## Remove runs/ and caches (keeps .venv)
	rm -rf runs .pytest_cache .mypy_cache .ruff_cache

comma := ,
space := $(subst ,, )
