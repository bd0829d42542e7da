# The README's two commands: `make tour` and `make test`. Each creates .venv when missing,
# installs what is needed (Fashion-MNIST from Debian when apt is available) and runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FMNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
OUT ?= runs/tour

.PHONY: tour tour-full test lint bench setup data diffusion-weights gan-weights

setup: $(VENV)/.installed data

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@# the attack peer the robust tests compare with; --no-deps: its pin of requests 2.25 is
	@# stale and its attacks need only torch
	$(BIN)/pip install --quiet --no-deps "torchattacks==3.5.1"
	@touch $@

# Fashion-MNIST ships as a Debian package; install it once when apt is here and we may use it.
data:
	@if [ ! -f $(FMNIST) ] && [ -z "$$PIXELAB_DATA" ] && command -v apt-get >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else SUDO=none; fi; \
	  if [ "$$SUDO" = none ]; then echo "note: cannot install dataset-fashion-mnist (not root, no sudo)"; \
	  else $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null; fi; \
	fi

tour: setup
	$(BIN)/pixelab tour --quick --out $(OUT)
	@echo "open $(OUT)/report.html in a browser"

tour-full: setup
	$(BIN)/pixelab tour --out runs/tour-full

# Remake the denoiser that ships in src/pixelab/assets/ (the tour's diffusion part): about
# 32 minutes on 2 cores (28 of them training), seeded; then copied there in float16 (about 1 MB).
diffusion-weights: setup
	$(BIN)/pixelab diffusion train --data fashion-mnist --epochs 4 --seed 0 --out runs/diffusion-shipped --overwrite
	$(BIN)/python -c "from pixelab.apps.diffusion import ship_diffusion; print(ship_diffusion('runs/diffusion-shipped'))"

gan-weights: setup
	$(BIN)/pixelab gan train --data fashion-mnist --epochs 5 --seed 0 --out runs/gan-shipped --overwrite
	$(BIN)/python -c "from pixelab.apps.gan import ship_gan; print(ship_gan('runs/gan-shipped'))"

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python benchmarks/bench_hog.py
	$(BIN)/python benchmarks/bench_classic.py
