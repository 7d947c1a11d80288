# lightning_unlearn: `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Methods for `make demo`: comma-separated names of configs/methods/*.yaml, or `all` (default: feature_constraint).
METHODS ?= feature_constraint
OUT ?= runs/demo

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench bench-mem tune-mem cifar10-data throughput clean

help: ## Show this help
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

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

cifar10-data: ## Unpack ../shared's CIFAR-10 into .data/cifar10 (ImageFolder layout) for the CPU benchmarks
	@if [ -d .data/cifar10/train ]; then :; \
	elif [ -f ../shared/data/cifar10_jpeg.npz ]; then $(PYTHON) ../shared/tools/cifar10_imagefolder.py .data/cifar10; \
	else echo "no ../shared/data/cifar10_jpeg.npz: put CIFAR-10 images in .data/cifar10/{train,test}/<class>/" >&2; exit 1; fi

bench-mem: install cifar10-data ## Memorised-regime CIFAR-10 benchmark: tuned methods x 3 seeds, 2 scenarios (~40 min, cached)
	$(VENV)/bin/lightning-unlearn grid --config configs/bench/cifar10_mem/grid.yaml

tune-mem: install cifar10-data ## Re-choose every method's recipe for bench-mem on the validation set (writes configs/bench/cifar10_mem/tuned/)
	$(VENV)/bin/lightning-unlearn tune --config configs/bench/cifar10_mem/tune.yaml

bench: install ## The earlier CPU grid (under-fitting small CNN, untuned recipes; every method x 3 seeds, 2 scenarios)
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
