# The two set-up commands of the README: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml scripts/pyewf_zlib.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	# libewf-python against the system zlib (the PyPI wheel's own inflater is ~9x slower); on
	# failure the wheel stays and the script says why.
	-$(VENV)/bin/python scripts/pyewf_zlib.py
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/triage demo --dir demo --fresh

test: $(STAMP)
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[bench]'
	$(VENV)/bin/python scripts/bench_ingest.py

clean:
	rm -rf $(VENV) demo .pytest_cache
