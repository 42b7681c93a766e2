# The README's two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
TUTOR  := $(VENV)/bin/tutor
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install index models-test models-run browser postgres lint eval eval-llm bench clean

run: install index
	$(TUTOR) llm install --default
	$(VENV)/bin/streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port 8501

test: install models-test browser postgres
	$(VENV)/bin/ruff check tutor tests app.py app_pages bench
	$(PY) -m pytest -q

# A stamp keyed on the project files makes a second install a no-op.
# The ONNX export is checked on every install (sha256, ≈ 0.3 s) and redone when missing or corrupt.
install: $(VENV)/.installed
	$(PY) -m tutor.onnx_export
	$(PY) -m tutor.reader --export
	$(PY) -m tutor.spotter --export
	$(PY) -m tutor.judge --check
	@# An editable install leaves tutor/ uncompiled: with PYTHONDONTWRITEBYTECODE set (as on this machine) each
	@# cold `tutor` call compiled ~35 modules again (≈ 0.06 CPU-s). Written once here; redone when a file changes.
	$(PY) -m compileall -q tutor app_pages
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first: the CPU wheel; a plain `torch` requirement would pull a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[app,local,api,grade,judge,pdf,team,dev]"
	touch $@

index: install
	$(TUTOR) ingest

# SmolLM2-135M: plumbing tests of the real local-LLM path (nonsense text, but a real server).
models-test: install
	$(TUTOR) llm install smollm2-135m

models-run: install
	$(TUTOR) llm install --default

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work offline).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)

# Debian's PostgreSQL server binaries: the progress-store tests start a throwaway server with them.
postgres:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

lint: install
	$(VENV)/bin/ruff check tutor tests app.py app_pages bench

eval: install index
	$(TUTOR) eval --out reports/eval-extractive

eval-llm: install index models-run
	$(TUTOR) eval --backend local --limit 60 --out reports/eval-local

bench: install index
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) index/*.index index/*.jsonl index/manifest.json reports test-artifacts .pytest_cache
