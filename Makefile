# Two commands for a new user:  `make serve`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
DATA   ?= ../shared/data/quickdraw

.PHONY: serve test lint bench train-shipped report docs openapi

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

## Install the serving stack and start the service on the committed model (in-process cache, CPU or GPU)
serve: $(PY)
	$(PY) -m pip install -q -e '.[serve]'
	$(PY) -m service

## Install everything the tests need (incl. the ray extra, Debian's redis-server, chromium, and gcc for the compiled kernel) and run lint + the whole test suite
test: $(PY)
	@$(PY) -c "import os, shutil, sysconfig; ok = shutil.which('gcc') and os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')); raise SystemExit(0 if ok else 1)" || { \
	  echo "installing gcc and the Python headers (Debian packages; pip builds sketchprep's compiled kernel with them)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq gcc python3-dev >/dev/null; }
	$(PY) -m pip install -q -e '.[serve,train,dev,ray]'
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (Debian package)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq redis-server >/dev/null; }
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (Debian package; tests/web drive it with Playwright)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(PY)
	$(PY) -m ruff check .

## Load benchmark of the service (see bench/README.md)
bench: $(PY)
	$(PY) -m pip install -q -e '.[serve,dev]'
	$(PY) bench/run.py --data $(DATA)

## Retrain the shipped models (softmax v2, gacl v5) from ../shared/data (about 100 min on 2 cores; resumable)
train-shipped: $(PY)
	$(PY) -m pip install -q -e '.[train]'
	PATH=$(VENV)/bin:$$PATH DATA=$(DATA) ./scripts/train_shipped.sh

## Rebuild docs/results (tables and figures) from the evaluated runs: the shipped 16-epoch pair, then the 11-epoch study
report: $(PY)
	$(PY) -m training.cli report --runs runs/softmax-e16-s1 runs/gacl-cos-rankdrop4-e16-s1 --baseline softmax-e16-s1 --out docs/results/e16-s1
	$(PY) -m training.cli report --runs runs/softmax runs/gacl-cos runs/gacl-cos-rank runs/gacl-cos-rank4 runs/gacl-cos-rankdrop \
	  runs/gacl-cos-rankdrop4 runs/gacl-cos-e6 runs/gacl-cos-e3 runs/gacl-cos-e3-nobin --baseline softmax --out docs/results

## Regenerate the documents written from the code: openapi.yaml (the app) and the README settings table (Settings)
docs: $(PY)
	$(PY) -m service.docs

openapi: docs
