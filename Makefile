# lightning_unlearn: `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Methods for `make demo`: comma-separated names of configs/methods/*.yaml, or `all` (default: feature_constraint).
METHODS ?= feature_constraint
OUT ?= runs/demo
# The GPU benchmark: the folder carried to a machine without network, ../shared, the rehearsal's bare venv.
GPU_CARRY ?= .gpu
SHARED ?= ../shared
REHEARSAL_VENV ?= .venv-rehearsal
# bench-gpu runs with .venv's Python when there is one, else with python3 as it is (a GPU image's).
BENCH_PY ?= $(if $(wildcard $(PY)),$(PY),$(PYTHON))
# Runs a command with no network: a new network namespace where unshare allows one, else dead proxies.
NO_NET := $(shell unshare -rn true 2>/dev/null && echo "unshare -rn")

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench bench-mem tune-mem cifar10-data throughput gpu-carry bench-gpu bench-gpu-rehearsal clean

help: ## Show this help
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install the package with its dev extras

demo: install ## Train the original, retrain, unlearn one digit class; print and write runs/demo/report.{json,md}
	$(VENV)/bin/lightning-unlearn demo --out_dir $(OUT) \
		--methods '[$(subst $(space),$(comma),$(patsubst %,"%",$(subst $(comma), ,$(METHODS))))]'

test: install ## Run the whole test suite
	$(VENV)/bin/pytest

cifar10-data: ## Unpack ../shared's CIFAR-10 into .data/cifar10 (ImageFolder layout) for the CPU benchmarks
	@if [ -d .data/cifar10/train ]; then :; \
	elif [ -f ../shared/data/cifar10_jpeg.npz ]; then $(PYTHON) ../shared/tools/cifar10_imagefolder.py .data/cifar10; \
	else echo "no ../shared/data/cifar10_jpeg.npz: put CIFAR-10 images in .data/cifar10/{train,test}/<class>/" >&2; exit 1; fi

bench-mem: install cifar10-data ## Memorised-regime CIFAR-10 benchmark: tuned methods x 3 seeds, 2 scenarios, 8 LiRA reference models each (49-53 min from scratch on 2 cores, cached)
	$(VENV)/bin/lightning-unlearn grid --config configs/bench/cifar10_mem/grid.yaml

tune-mem: install cifar10-data ## Re-choose every method's recipe for bench-mem on the validation set (writes configs/bench/cifar10_mem/tuned/)
	$(VENV)/bin/lightning-unlearn tune --config configs/bench/cifar10_mem/tune.yaml
	$(VENV)/bin/lightning-unlearn tune --config configs/bench/cifar10_mem/tune_round2.yaml
	$(VENV)/bin/python benchmarks/retrain_spread.py configs/bench/cifar10_mem/tune.yaml --references 8 \
		--out runs/bench/cifar10_mem_retrain_spread.json
	$(VENV)/bin/python benchmarks/choose_recipes.py runs/bench/cifar10_mem_retrain_spread.json \
		runs/bench/cifar10_mem_tuning/tuning.json runs/bench/cifar10_mem_tuning_round2/tuning.json \
		--methods_dir configs/bench/cifar10_mem/methods --recipes configs/bench/cifar10_mem/tuned \
		--out docs/results/cifar10_mem_choice.json

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

# On a GPU machine without network (the accelerator machine), from the repository root, with .gpu/ carried:
#   timeout -k 10 565 bash benchmarks/gpu_offline.sh --budget 540 2>&1 | tee $OUT/bench.log; s=${PIPESTATUS[0]};
#   cp docs/results/cifar10_gpu.* $OUT/; exit $s
# (device tool: carry [".gpu"], timeout_s 595; the inner timeout lets the copy run when the benchmark overruns, and
# the results are rewritten after every finished stage). It installs .gpu/wheels into /tmp/site, sets PYTHONPATH
# and runs benchmarks/gpu_bench.py with the image's own torch, lightning, torchmetrics, torchvision and
# scikit-learn. 2026-11-27 on an H200: 476 s for start-up, throughput check, original, two retrains and one method;
# a second call on the still-warm machine reuses the cached models (runs/ stays there while it is warm).
gpu-carry: install ## Fill .gpu/ (ignored) for a GPU machine without network: CIFAR-10 archive + wheels; sizes
	$(PY) benchmarks/gpu_carry.py --shared $(SHARED) --dest $(GPU_CARRY)

bench-gpu: ## The timed GPU benchmark (needs CUDA; make install first): writes docs/results/cifar10_gpu.*
	@if [ -f $(GPU_CARRY)/cifar10_jpeg.npz ]; then args=""; \
	elif [ -f $(SHARED)/data/cifar10_jpeg.npz ]; then args="--archive $(SHARED)/data/cifar10_jpeg.npz"; \
	else echo "no JPEG archive in $(GPU_CARRY)/ or $(SHARED)/data/: torchvision downloads CIFAR-10"; args="--download"; fi; \
	PYTHONPATH=.$${PYTHONPATH:+:$$PYTHONPATH} $(BENCH_PY) benchmarks/gpu_bench.py $$args $(BENCH_ARGS)

$(REHEARSAL_VENV)/.installed:
	rm -rf $(REHEARSAL_VENV)
	$(PYTHON) -m venv $(REHEARSAL_VENV)
	$(REHEARSAL_VENV)/bin/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1 lightning torchmetrics \
		scikit-learn numpy pillow pyyaml matplotlib
	touch $@

bench-gpu-rehearsal: gpu-carry $(REHEARSAL_VENV)/.installed ## gpu_offline.sh on the CPU, tiny, no network, bare venv
	@! PYTHONNOUSERSITE=1 $(REHEARSAL_VENV)/bin/python -c "import jsonargparse" 2>/dev/null \
		|| { echo "error: $(REHEARSAL_VENV) has jsonargparse: it must come from the carried wheels"; exit 1; }
	rm -rf runs/bench_rehearsal
	site=$$(mktemp -d) && trap 'rm -rf "$$site"' EXIT && \
	env PATH="$(abspath $(REHEARSAL_VENV))/bin:$$PATH" PYTHONPATH= PYTHONNOUSERSITE=1 BENCH_SIZE=tiny BENCH_SITE=$$site \
		GPU_CARRY=$(GPU_CARRY) HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
		http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 NO_PROXY= no_proxy= \
		$(NO_NET) bash benchmarks/gpu_offline.sh

lint: install ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check lightning_unlearn tests benchmarks
	$(VENV)/bin/ruff format --check lightning_unlearn tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy benchmarks/gpu_bench.py benchmarks/gpu_carry.py benchmarks/throughput.py benchmarks/gpu_last_batch.py benchmarks/choose_recipes.py benchmarks/retrain_spread.py

clean: ## Remove runs/ and caches (keeps .venv, .venv-rehearsal and .gpu)
	rm -rf runs .pytest_cache .mypy_cache .ruff_cache

comma := ,
space := $(subst ,, )
