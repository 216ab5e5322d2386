# One-command setup: `make run` starts the app on a demo database of the bundled 示例 firms, `make test` runs the suite.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.install-stamp
HOST    ?= 127.0.0.1
PORT    ?= 8501
DEMO_DB ?= data/demo.db

.PHONY: install run demo test test-fast lint bench build clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.lock requirements-cluster.txt constraints.txt pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -r requirements-cluster.txt
	$(BIN)/pip install --disable-pip-version-check -q jieba_fast==0.53 \
		|| echo "jieba_fast 未能编译安装：改用 jieba（同一词典和算法，只在两种切分得分相等时可能不同；分词约慢一半）"
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## idempotent: reinstalls only when the lock files change

build: install  ## the working database: knowledge base and indexes, no sample firms (skipped when up to date)
	$(BIN)/matcher index

demo: install  ## the demo database: knowledge base, the bundled 示例 firms, indexes (kept apart from real data)
	$(BIN)/matcher index --samples --db $(DEMO_DB)

run: demo
	MATCHER_DB=$(DEMO_DB) $(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check matcher app.py app_pages tests benchmarks
	$(BIN)/mypy

bench: install  ## 10k synthetic firms, side by side with txtai (benchmark-only extras); redraws the plot
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -r requirements-bench.txt
	$(BIN)/python benchmarks/bench.py --firms 10000 --peer txtai
	$(BIN)/python benchmarks/plot.py

clean:
	rm -rf data/matcher.db* data/matcher.indexes data/demo.db* data/demo.indexes
