# cloudlet: make install | test | demo | lint | bench | clean
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
TUTORIAL := ../shared/tutorial/run-tutorial.sh
BACKPORTS := deb http://deb.debian.org/debian bookworm-backports main
APT_SOURCES ?= /etc/apt/sources.list /etc/apt/sources.list.d/

.PHONY: install system runtimes console-libs test demo lint bench clean constraints

# System packages first: a user without root learns at once what to ask for.
install: system $(VENV)/.installed runtimes console-libs

# What only root can install: python3-venv (Debian's python3 has no venv without it),
# valkey-server 8 (Debian 12 has it in bookworm-backports), openssl (issues each cache's
# TLS certificate), zip (the tutorial
# packages its function with it) and bubblewrap (each Lambda execution environment
# runs in its own namespaces; see CLOUDLET_LAMBDA_ISOLATION), Node.js with npm (nodejs* Lambda
# runtimes) and what AWS's Node.js runtime interface client (aws-lambda-ric) compiles its
# native client with: cmake, make, g++, autoconf, automake, libtool; gcc and libc6-dev build the
# native data plane's valkey module (CLOUDLET_DATAPLANE=native). As root, what is missing is installed; otherwise
# the one command to run as root is printed and make stops. The valkey checked is the
# one cloudlet will run (CLOUDLET_VALKEY_SERVER, else PATH's valkey-server).
system:
	@vk="$${CLOUDLET_VALKEY_SERVER:-valkey-server}"
	main=(); valkey=""
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || main+=(python3-venv)
	command -v zip >/dev/null || main+=(zip)
	command -v openssl >/dev/null || main+=(openssl)
	[ -e /usr/include/stdio.h ] || main+=(libc6-dev)
	command -v "$${CLOUDLET_BWRAP:-bwrap}" >/dev/null || main+=(bubblewrap)
	command -v node >/dev/null || main+=(nodejs)
	command -v npm >/dev/null || main+=(npm)
	# The console's browser tests drive Debian's chromium (Playwright, no browser download).
	command -v chromium >/dev/null || main+=(chromium)
	for tool in cmake:cmake make:make g++:g++ gcc:gcc autoconf:autoconf automake:automake libtoolize:libtool; do
	  command -v "$${tool%%:*}" >/dev/null || main+=("$${tool#*:}")
	done
	{ command -v "$$vk" >/dev/null && "$$vk" --version | grep -Eq 'v=(8|9|[1-9][0-9])\.'; } || valkey=1
	steps=()
	if [ -n "$$valkey" ]; then
	  grep -rqs '^deb .*bookworm-backports' $(APT_SOURCES) \
	    || steps+=("echo '$(BACKPORTS)' > /etc/apt/sources.list.d/bookworm-backports.list")
	fi
	if [ -n "$$valkey" ] || [ $${#main[@]} -gt 0 ]; then steps+=("apt-get update"); fi
	if [ $${#main[@]} -gt 0 ]; then steps+=("apt-get install -y $${main[*]}"); fi
	if [ -n "$$valkey" ]; then steps+=("apt-get install -y -t bookworm-backports valkey-server valkey-tools"); fi
	if [ $${#steps[@]} -gt 0 ]; then
	  cmd=$$(printf ' && %s' "$${steps[@]}"); cmd=$${cmd# && }
	  missing="$${main[*]}$${valkey:+ valkey-server 8 ($$vk)}"
	  if [ "$$(id -u)" != 0 ]; then
	    echo "Missing: $${missing# }. Run as root, then make again:" >&2
	    echo "  $$cmd" >&2
	    exit 1
	  fi
	  echo "installing: $${missing# }"
	  DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$$cmd"
	fi
	# cloudlet runs its own valkey-servers; Debian's system service need not run.
	if [ "$$(id -u)" = 0 ] && [ -n "$$valkey" ]; then
	  if command -v systemctl >/dev/null && systemctl list-unit-files valkey-server.service >/dev/null 2>&1; then
	    systemctl disable --now valkey-server >/dev/null 2>&1 || true
	  fi
	  if [ -x /etc/init.d/valkey-server ]; then /etc/init.d/valkey-server stop >/dev/null 2>&1 || true; fi
	fi

# Every package at the version constraints.txt pins, so every machine runs the same
# botocore models and clients. Each long step says what it does and how long it took.
$(VENV)/.installed: pyproject.toml constraints.txt | system
	@step() { printf '==> %s\n' "$$1"; }
	done_in() { printf '    done in %d s\n' $$(( SECONDS - $$1 )); }
	t=$$SECONDS; step "virtualenv $(VENV) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	t=$$SECONDS; step "pip: upgrading pip in $(VENV)"
	$(BIN)/pip install -q -c constraints.txt --upgrade pip
	done_in $$t
	t=$$SECONDS; step "pip: cloudlet and its test tools, versions from constraints.txt (downloads on the first run)"
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	done_in $$t
	$(BIN)/python -m cloudlet.protocol.service_index
	$(BIN)/python -m cloudlet.dataplane.native.build >/dev/null
	touch $@

# The Lambda runtimes' virtualenvs (awslambdaric + boto3 per interpreter) and Node.js
# runtime dirs (aws-lambda-ric + the AWS SDK for JavaScript v3 per node major, versions
# from services/lambda_/nodejs/package-lock.json), built once per machine under
# ~/.cloudlet/runtimes so that no invoke waits for a pip or npm install.
runtimes: $(VENV)/.installed
	@echo "==> Lambda runtimes: one virtualenv (awslambdaric + boto3) per interpreter, one aws-lambda-ric dir per node"
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/python -m cloudlet.services.lambda_.runtimes python3.12 python3.11 nodejs20.x nodejs22.x

# The console page's libraries (uPlot), versions from its package-lock.json, served from
# the package at run time (no network then).
CONSOLE_VENDOR := src/cloudlet/console/static/vendor
console-libs: $(CONSOLE_VENDOR)/node_modules/.package-lock.json
$(CONSOLE_VENDOR)/node_modules/.package-lock.json: $(CONSOLE_VENDOR)/package-lock.json | system
	@echo "==> console libraries: npm ci in $(CONSOLE_VENDOR)"
	npm ci --prefix $(CONSOLE_VENDOR) --no-audit --no-fund --loglevel=error
	touch $@

# Lint first: ruff and mypy findings fail the run like a failing test.
test: install lint
	@rc=0; $(BIN)/pytest -q tests || rc=$$?
	# pytest exits 5 when it collected no tests: not a failure of cloudlet.
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi
	exit $$rc

# Start cloudlet detached on a fresh data dir, run the tutorial against it with the
# stock aws CLI, print each step's time, and stop cloudlet whatever happens.
demo: install
	@DATA=$$(mktemp -d /tmp/cloudlet-demo.XXXXXX)
	# On failure, show cloudlet's own log lines (one per request, errors with their reason).
	trap 'rc=$$?; if [ $$rc -ne 0 ] && [ -f "$$DATA/logs/cloudlet.log" ]; then
	  echo "--- cloudlet log (last 40 lines) ---" >&2; tail -n 40 "$$DATA/logs/cloudlet.log" >&2; fi
	  $(BIN)/cloudlet stop --data-dir "$$DATA" || true; rm -rf "$$DATA"' EXIT
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

# ruff and mypy as configured in pyproject.toml. Not yet part of `make test`.
lint: $(VENV)/.installed
	@rc=0
	$(BIN)/ruff check src tests bench || rc=1
	$(BIN)/mypy src || rc=1
	exit $$rc

# Rewrites constraints.txt from what is installed now: this venv plus the Lambda
# runtimes' own packages (awslambdaric is not in this venv).
constraints: $(VENV)/.installed runtimes
	@rt="$$($(BIN)/python -c 'from cloudlet.config import Config; print(Config.from_env().runtimes_dir)')"
	{ echo "# Pinned versions for make install (pip -c). Regenerate with: make constraints"
	  { $(BIN)/pip freeze --all --exclude-editable
	    for v in "$$rt"/python3.*; do "$$v/bin/python" -m pip freeze --local 2>/dev/null || true; done
	  } | grep -v '^#' | sort -u -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	echo "constraints.txt: $$(grep -vc '^#' constraints.txt) packages"

# Every bench in one run, then the GOAL lines they printed (bench/goals.py) as one table.
bench: install
	@out=$$(mktemp /tmp/cloudlet-bench.XXXXXX); trap 'rm -f "$$out"' EXIT
	rc=0
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python "$$b" 2>&1 | tee -a "$$out" || rc=1; done
	echo; echo "== goals of this run"
	$(BIN)/python bench/goals.py summary "$$out"
	exit $$rc

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
