# Two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench venv clean browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m siting demo --out out/demo

# The HTML report is checked in headless Chromium (tests/workflow/test_report_chromium.py).
# Debian's package is installed when missing and we may (root + apt-get); otherwise that test skips, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian package chromium for the report test ..."; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "warning: chromium could not be installed; the browser test will be skipped"; \
	  else echo "note: chromium is not installed; the browser test will be skipped"; fi; }

# ruff (pyflakes, isort, bugbear, pyupgrade, numpy rules, numpydoc) and mypy, configured in pyproject.toml
lint: $(STAMP)
	$(VENV)/bin/ruff check siting tests benchmarks
	$(VENV)/bin/mypy

# both cores (pytest-xdist): the suite is mostly single-threaded Python. --dist worksteal: each worker starts on its
# share (tests/conftest.py puts a balanced part of the long files first in each) and an idle one takes half of
# another's queue, so both finish together
test: $(STAMP) lint browser
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist worksteal

# the fast lane while developing: everything but the tests marked slow
test-fast: $(STAMP) lint
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist worksteal -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache
