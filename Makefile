# cloudlet: make install | test | demo | bench | clean
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
TUTORIAL := ../shared/tutorial/run-tutorial.sh
BACKPORTS := deb http://deb.debian.org/debian bookworm-backports main

.PHONY: install pyvenv valkey zip runtimes test demo bench clean

install: $(VENV)/.installed valkey zip runtimes

# Debian's python3 needs python3-venv for `python3 -m venv` (root to install).
pyvenv:
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv python3-pip
	  else echo "python3-venv is missing. Run as root: apt-get install -y python3-venv python3-pip" >&2; exit 1; fi
	fi

$(VENV)/.installed: pyproject.toml | pyvenv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The Lambda runtimes' virtualenvs (awslambdaric + boto3 per interpreter), built once
# per machine under ~/.cloudlet/runtimes so that no invoke waits for a pip install.
runtimes: $(VENV)/.installed
	@$(BIN)/python -m cloudlet.services.lambda_.runtimes python3.12 python3.11

# valkey-server 8 (Debian 12 has it in bookworm-backports). Needs root to install.
valkey:
	@if command -v valkey-server >/dev/null && valkey-server --version | grep -Eq 'v=(8|9|[1-9][0-9])\.'; then
	  :
	elif [ "$$(id -u)" != 0 ]; then
	  echo "valkey-server 8 is missing. Run as root:" >&2
	  echo "  echo '$(BACKPORTS)' > /etc/apt/sources.list.d/bookworm-backports.list && apt-get update && apt-get install -y -t bookworm-backports valkey-server valkey-tools" >&2
	  exit 1
	else
	  grep -rqs '^deb .*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ \
	    || echo '$(BACKPORTS)' > /etc/apt/sources.list.d/bookworm-backports.list
	  apt-get update
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports valkey-server valkey-tools
	fi
	# cloudlet runs its own valkey-servers; Debian's system service must not hold port 6379.
	if [ "$$(id -u)" = 0 ]; then
	  if command -v systemctl >/dev/null && systemctl list-unit-files valkey-server.service >/dev/null 2>&1; then
	    systemctl disable --now valkey-server >/dev/null 2>&1 || true
	  fi
	  if [ -x /etc/init.d/valkey-server ]; then /etc/init.d/valkey-server stop >/dev/null 2>&1 || true; fi
	fi

# The tutorial packages its Lambda function with zip.
zip:
	@if ! command -v zip >/dev/null; then
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y zip
	  else echo "zip is missing. Run as root: apt-get install -y zip" >&2; exit 1; fi
	fi

test: install
	@rc=0; $(BIN)/pytest -q tests || rc=$$?
	# pytest exits 5 when it collected no tests: not a failure of cloudlet.
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi
	exit $$rc

# Start cloudlet detached on a fresh data dir, run the tutorial against it with the
# stock aws CLI, print each step's time, and stop cloudlet whatever happens.
demo: install
	@DATA=$$(mktemp -d /tmp/cloudlet-demo.XXXXXX)
	trap '$(BIN)/cloudlet stop --data-dir "$$DATA" || true; rm -rf "$$DATA"' EXIT
	$(BIN)/cloudlet start -d --data-dir "$$DATA" --port "$${CLOUDLET_PORT:-4566}"
	eval "$$($(BIN)/cloudlet env --data-dir "$$DATA")"
	export PATH="$(BIN):$$PATH"
	start=$${EPOCHREALTIME/./}; t=$$start; step=""
	timing() { printf '   [%s: %d.%02d s]\n' "$$1" $$(( $$2 / 1000000 )) $$(( $$2 % 1000000 / 10000 )); }
	rc=0
	bash $(TUTORIAL) "$$DATA/work" 2>&1 | while IFS= read -r line; do
	  if [[ "$$line" == "== "* ]]; then
	    now=$${EPOCHREALTIME/./}; [[ -n "$$step" ]] && timing "$$step" $$(( now - t ))
	    step="$${line#== }"; t=$$now
	  fi
	  if [[ "$$line" == "TUTORIAL PASSED" || "$$line" == "TUTORIAL FAILED"* ]]; then
	    now=$${EPOCHREALTIME/./}; [[ -n "$$step" ]] && timing "$$step" $$(( now - t ))
	    timing total $$(( now - start ))
	  fi
	  printf '%s\n' "$$line"
	done || rc=$$?
	exit $$rc

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python "$$b"; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
