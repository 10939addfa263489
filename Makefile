# The README's two commands:
#   make book   set up .venv, execute every notebook (quick profile), build the book
#   make test   set up .venv, run the unit tests and the notebook regression tests (and, once
#               the book is built and a Chromium is installed, the browser test)
# Also: make serve (the built book over http://localhost:$(PORT), for search snippets),
#       make browser-test (only the browser test, on the built book).
# Options: PROFILE=paper (the paper's sizes; meant for a GPU box), PYTHON=python3.11,
#          EXTRAS=all,ray (also install Ray, for `mgdl sweep --backend ray` and its test)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
PORT    ?= 8000
PROFILE ?= quick
# The project's extras to install: all = book + test + restoration + convex; CI adds ray (EXTRAS=all,ray).
EXTRAS  ?= all
VENV    := .venv
PY      := $(VENV)/bin/python
comma   := ,
INSTALLED := $(VENV)/.mgdl-installed-$(subst $(comma),-,$(EXTRAS)).stamp
VENDORED  := book/_static/vendor/.stamp

# Every recipe: one OpenMP thread (faster on small shared CPUs), no GUI backend.
export OMP_NUM_THREADS := 1
export MPLBACKEND := Agg
# The paper's images: MGDL_DATA_DIR if set, else ../shared/data/images when present (the
# library then tries its cache and a hash-pinned download).
ifeq ($(origin MGDL_DATA_DIR),undefined)
ifneq ($(wildcard ../shared/data/images),)
export MGDL_DATA_DIR := $(abspath ../shared/data/images)
endif
endif

.PHONY: help setup book test browser-test serve vendor clean
help:
	@echo "make book  [PROFILE=quick|paper]  execute notebooks/ and build _build/html"
	@echo "make test                         unit tests + notebook regression tests (nbval)"
	@echo "make browser-test                 the built book in Chromium (offline, 1280 and 390 px)"
	@echo "make serve [PORT=8000]            serve _build/html (full-text search with snippets)"
	@echo "make setup | vendor | clean"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml changes (or the venv is new).
$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -e ".[$(EXTRAS)]"
	$(PY) -m ipykernel install --sys-prefix --name mgdl --display-name "Python (mgdl)"
	@touch $@

setup: $(INSTALLED)

# MathJax from npm, so the book renders offline (once; needs npm).
$(VENDORED): tools/vendor_assets.sh
	bash tools/vendor_assets.sh

vendor: $(VENDORED)

book: $(INSTALLED) $(VENDORED)
	$(PY) -m mgdl_core.pages.execute --profile $(PROFILE) --build

test: $(INSTALLED)
	$(PY) -m pytest

# tests/browser/test_book.py: Playwright driving the system's Chromium (apt-get install chromium).
browser-test: $(INSTALLED)
	$(PY) -m pytest -p no:cacheprovider tests/browser

# From file:// the book works, but its search lists titles only: the browser will not let a
# page read the sources it needs for snippets. Over http it does.
serve:
	@test -f _build/html/index.html || { echo "no book in _build/html: run make book first" >&2; exit 2; }
	@echo "the book: http://localhost:$(PORT)/  (Ctrl-C stops)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean:
	rm -rf _build book/_static/vendor
