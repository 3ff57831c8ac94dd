# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing.
.PHONY: setup run test test-fast lint bench clean

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/hotline serve $(if $(CONFIG),--config $(CONFIG),)

test: setup
	.venv/bin/ruff check .
	.venv/bin/mypy ivr asr agent_desk workorders config triage kb
	.venv/bin/python -m pytest -q -ra

test-fast: setup
	.venv/bin/python -m pytest -q -m "not sip"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy ivr asr agent_desk workorders config triage kb

bench: setup
	.venv/bin/python bench/sip_load.py

clean:
	rm -rf var .pytest_cache test-artifacts
