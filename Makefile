# Developer entry points: `make lab` opens the tutorial, `make test` runs the whole suite.
# Both first run `setup`, which installs only what is missing.

SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
SYSTEM_PACKAGES := postgresql mariadb-server chromium graphviz
AS_ROOT := $(filter 0,$(shell id -u))
SUDO := $(if $(AS_ROOT),,sudo)
LAB_ARGS ?=
PYTEST_ARGS ?=

LABEXT := labextension
LABEXT_BUILT := dj_jupyter/labextension/package.json
LABEXT_SOURCES := $(wildcard $(LABEXT)/src/*.ts $(LABEXT)/style/*) $(LABEXT)/package.json \
  $(LABEXT)/tsconfig.json $(LABEXT)/install.json
LABEXT_SHARE := $(VENV)/share/jupyter/labextensions/dj-jupyter-labext
LABEXT_LINK := $(VENV)/.labextension-linked

.PHONY: setup system-packages lab test docs binder-check labextension check-labextension \
  test-labextension datajoint-venv

setup: $(VENV)/.installed labextension

# Debian packages, via apt only when one is missing (python3-venv only if venv can't work).
system-packages:
	@missing=$$(for pkg in $(SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' || echo $$pkg; \
	  done; [ -x $(PYTHON) ] || python3 -c 'import ensurepip' 2>/dev/null || echo python3-venv); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Reinstalled only when pyproject.toml changes (the install is editable).
# (pip would copy the extension onto itself through the link `labextension develop` made.)
$(VENV)/.installed: pyproject.toml | system-packages
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	if [ -L $(LABEXT_SHARE) ]; then rm $(LABEXT_SHARE); fi
	$(PYTHON) -m pip install -e ".[all,test,docs]"
	touch $@

# The JupyterLab extension (labextension/ -> dj_jupyter/labextension), rebuilt only when a
# source changed (make compares it with the built package.json); node_modules only when the
# lock file changed. The venv's share/ links to the build (`labextension develop`), so a
# rebuild shows on the next page load.
labextension: $(LABEXT_BUILT) $(LABEXT_LINK)

$(LABEXT)/node_modules/.package-lock.json: $(LABEXT)/package-lock.json
	cd $(LABEXT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LABEXT_BUILT): $(LABEXT_SOURCES) $(LABEXT)/node_modules/.package-lock.json | $(VENV)/.installed
	cd $(LABEXT) && PATH="$(abspath $(VENV))/bin:$$PATH" npm run build:prod
	touch $@

$(LABEXT_LINK): $(VENV)/.installed | $(LABEXT_BUILT)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/jupyter-builder develop --overwrite .
	touch $@

# The grammar's unit tests (node's built-in runner; ~2 s).
test-labextension: $(LABEXT)/node_modules/.package-lock.json
	cd $(LABEXT) && npm test --silent

# CI: the extension is installed and enabled in the venv's JupyterLab. (The listing is printed
# as it is; `tee /dev/stderr` would reopen a log file that stderr goes to, and empty it.)
check-labextension: labextension
	@listed=$$($(VENV)/bin/jupyter labextension list 2>&1); echo "$$listed"; \
	  grep -q "dj-jupyter-labext.*enabled.*OK" <<<"$$listed" || \
	  { echo "error: dj-jupyter-labext is not installed and enabled" >&2; exit 1; }

# The documentation site (mkdocs.yml): README, tutorials executed with their pictures, the
# architecture and an API reference from the docstrings, into site/; warnings fail the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Binder's build simulated from a clean clone of HEAD, every tutorial executed (binder/simulate).
binder-check:
	bash binder/simulate

# DataJoint 2.3.5 from PyPI in a venv of its own, for the cross-library tests (tests/interop):
# test-only, never a dependency of the package; made again only when this Makefile changes.
DATAJOINT_VENV := .venv-datajoint
DATAJOINT_PACKAGES := datajoint==2.3.5 pymysql psycopg2-binary

datajoint-venv: $(DATAJOINT_VENV)/.installed

$(DATAJOINT_VENV)/.installed: Makefile
	[ -x $(DATAJOINT_VENV)/bin/python ] || python3 -m venv $(DATAJOINT_VENV)
	$(DATAJOINT_VENV)/bin/python -m pip install -q --disable-pip-version-check $(DATAJOINT_PACKAGES)
	touch $@

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks \
	  --LabApp.default_url=/lab/tree/01-getting-started.ipynb \
	  $(if $(AS_ROOT),--allow-root) $(LAB_ARGS)

# Lint and type-check first (fast; the import contract is tests/unit/test_architecture.py),
# then pytest; pytest exits with 5 when it collected nothing: a failure too. Last, the backend
# suite once more on the servers with the fast paths off (dj.config["database.fast_paths"]),
# so that the plain path stays correct (SQLite has no fast paths).
test: setup check-labextension test-labextension datajoint-venv
	$(VENV)/bin/ruff check dj_jupyter tests benchmarks
	$(VENV)/bin/mypy
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory binder-check
	@rc=0; $(PYTHON) -m pytest -p no:cacheprovider tests/ $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc
	DJ_FAST_PATHS=0 DJ_TEST_BACKENDS=postgresql,mysql $(PYTHON) -m pytest -p no:cacheprovider \
	  tests/backend -q $(PYTEST_ARGS)
