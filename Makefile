# ecozone: two commands for a fresh Debian machine with python3 (>= 3.11) and make.
#   make demo   create .venv, install, assemble the Jinpu layers, check the demo sites, draw the map, export
#   make test   install and run the whole test suite (installs Chromium for the browser tests if missing)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT := out

.PHONY: install demo app test lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ecozone build layers/jinpu
	$(BIN)/ecozone validate layers/jinpu
	$(BIN)/ecozone check layers/jinpu/demo_sites.csv --layers layers/jinpu -o $(OUT)/demo_results.csv --overwrite \
		--detail $(OUT)/demo_detail.csv --report $(OUT)/demo_report.html
	$(BIN)/ecozone map layers/jinpu --sites layers/jinpu/demo_sites.csv -o maps/jinpu.html --overwrite
	$(BIN)/ecozone export layers/jinpu --format gpkg -o $(OUT)/jinpu_export.gpkg --overwrite
	@echo "demo: report $(OUT)/demo_report.html, map maps/jinpu.html, export $(OUT)/jinpu_export.gpkg"

# Chromium and a CJK font for the browser tests, GDAL's command-line tools for the export checks (root, or sudo)
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v ogrinfo >/dev/null 2>&1 \
		|| ! command -v pdftotext >/dev/null 2>&1 \
		|| ! fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk gdal-bin poppler-utils >/dev/null; \
	fi

# the web app on the Jinpu set, for the one local user: http://127.0.0.1:8000/
app: install
	$(BIN)/ecozone app --layers layers/jinpu

lint: install
	$(BIN)/ruff check geo tests benchmarks scripts

test: install system-deps lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_check.py

clean:
	rm -rf $(VENV) $(OUT) layers/*/build .pytest_cache
