# Two commands matter: `make demo` and `make test`. Each builds .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/replywatch demo --dir demo

# Tests marked `slow` (tens of seconds each, see pyproject) run in CI (CI=true or REPLYWATCH_REQUIRE_SERVERS=1,
# as .ci/run sets) and with `make test SLOW=1`; otherwise `make test` leaves them out (pytest says how many).
# They run in parallel (pytest-xdist): JOBS worker processes, `auto` one per core; JOBS=0 runs them in this
# one process (docs/development.md, "Tests in parallel"). worksteal: idle workers take queued tests over.
JOBS ?= auto
test: $(STAMP)
	$(BIN)/pytest -q -n $(JOBS) --dist worksteal $(if $(or $(SLOW),$(filter true,$(CI)),$(filter 1,$(REPLYWATCH_REQUIRE_SERVERS))),,-m "not slow")

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
