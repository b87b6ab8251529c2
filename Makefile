# Two commands take a clean clone to a running app (make run) or a full test run (make test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
STAMP := $(VENV)/.installed

.PHONY: run test setup venv bench backup restore lint clean-data pg

$(STAMP): requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

## make setup: migrate the database to head, load reference data (and the demo on a first embedded start)
setup: $(STAMP)
	$(BIN)/python -m db.setup

## make run: everything from a clean clone to the app on http://localhost:$(PORT)
run: setup
	$(BIN)/python -m scripts.serve --server.port $(PORT)

## make test: the whole suite (SQLite, or PostgreSQL when DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## make bench: national-scale benchmark of the progress views, then the workshop entry surface in Chromium
## (prints name: value lines)
bench: $(STAMP)
	$(BIN)/python -m scripts.bench
	$(BIN)/python -m scripts.bench_entry
	$(BIN)/python -m scripts.bench_snapshot --skip-generate

## make backup: consistent online copy of the embedded database into data/backups/, recorded in the audit log
backup: $(STAMP)
	$(BIN)/python -m db.backup create

## make restore FILE=data/backups/….db: replace the embedded database with a verified backup of this app
## (refused while the app or anything else has the database open; messages in English with LANG=en)
restore: $(STAMP)
	$(BIN)/python -m db.backup restore $(FILE)

## make pg: start a throwaway local PostgreSQL server and print its DATABASE_URL
pg:
	./scripts/pg_start.sh
