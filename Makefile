# Two commands: `make run` (set up, index seeds/ if needed, start the chat) and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# The machine's CPU build of torch is found by pip; pip's own cache (~/.cache/pip) keeps built wheels between runs.
PIP    := $(BIN)/python -m pip
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install install-test browser index eval bench clean

run: $(VENV)/.installed
	$(BIN)/bot index
	$(BIN)/bot serve

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest -q

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first and pinned: an unpinned resolve would pull several GB of CUDA wheels.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

# The browser tests drive Debian's Chromium (playwright's own browser download is not reachable).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "Chromium is missing: sudo apt-get install chromium (browser tests will be skipped)"; fi; \
	fi

index: $(VENV)/.installed
	$(BIN)/bot index

eval: $(VENV)/.installed
	$(BIN)/bot index --quiet
	$(BIN)/bot eval tests/eval/dev.yaml --split heldout --report eval-results/report.md --output eval-results/results.jsonl

bench: $(VENV)/.installed-test
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/load.py

clean:
	rm -rf .bot eval-results bench/out
