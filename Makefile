# The two commands of the README. Both create .venv when it is missing and install from the
# lock files (exact versions with hashes), so a release made tomorrow cannot change them;
# `make lock` refreshes the locks from the ranges in pyproject.toml: run `make test` after it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The sample content is from March 2019: the main job runs as of the Monday edition then.
NOW    ?= 2019-03-18T08:00:00+01:00
# The locking tool, itself pinned, so that `make lock` resolves the same way on every machine.
UV     := uv==0.13.9
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
LOCK_FLAGS  := --quiet --generate-hashes --python-version 3.11 --no-header --emit-build-options

.PHONY: run console test lint lock clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# pip itself, the build backend (hatchling) and every runtime library come from the lock;
# the project is installed last, editable, without fetching anything else.
$(VENV)/.installed: $(BIN)/activate requirements.lock pyproject.toml
	$(PIP_INSTALL) --require-hashes --no-deps -r requirements.lock
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.lock
	$(PIP_INSTALL) --require-hashes --no-deps -r requirements-test.lock
	touch $@

# After the run: the links of the sample's French member, to see the members' pages in
# French while `make console` serves them (README, "A member's pages").
FRENCH_MEMBER ?= francois.lefevre@example.net
run: $(VENV)/.installed
	$(BIN)/digest --now $(NOW) run --once; status=$$?; \
	$(BIN)/digest subscribers link $(FRENCH_MEMBER) --local; exit $$status

# The coordinators' console on this machine (README, "Review the held bulletin"): a sign-in
# link for the sample's coordinator, then the web app at http://127.0.0.1:8040/digest/admin/
# until Ctrl-C. No job runs: nothing is collected, published or sent.
COORDINATOR ?= coordinator@example.org
console: $(VENV)/.installed
	$(BIN)/digest coordinators link $(COORDINATOR) --local
	$(BIN)/digest serve --local

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy

# Resolve pyproject.toml's ranges (and the build backend of [build-system], with the
# editables package it needs for `pip install -e`) anew: the runtime
# lock first, then the test lock constrained to it, so both agree on every shared library.
lock: $(BIN)/activate
	$(PIP_INSTALL) '$(UV)'
	$(BIN)/python -c "import tomllib; print('\n'.join(['pip', 'editables', *tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']]))" > $(VENV)/build.in
	$(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml $(VENV)/build.in -o requirements.lock
	$(BIN)/uv pip compile $(LOCK_FLAGS) --extra test -c requirements.lock pyproject.toml $(VENV)/build.in -o requirements-test.lock

clean:
	rm -rf var out feeds/*.atom feeds/*.rss feeds/*.opml feeds/index.html
