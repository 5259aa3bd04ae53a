# Two commands do everything on a fresh machine:
#   make demo   - stream a built-in sample through the CertStream integration and print the incidents
#   make test   - run every test
# Both create the virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SDK_STAMP := $(VENV)/.installed-sdk

.PHONY: demo test venv bench evaluate soak validate zip clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/xsoar-local demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py $(ARGS)
	$(BIN)/python scripts/benchmark_replay.py

evaluate: $(STAMP)
	$(BIN)/python scripts/evaluate.py $(ARGS)

soak: $(STAMP)
	$(BIN)/python scripts/soak.py $(ARGS)

$(SDK_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,sdk]'
	touch $@

validate: $(SDK_STAMP)
	PATH=$(abspath $(BIN)):$$PATH bash scripts/validate.sh

zip: $(SDK_STAMP)
	PATH=$(abspath $(BIN)):$$PATH bash scripts/build_pack_zip.sh

clean:
	rm -rf $(VENV) .xsoar-local out
