# make test   runs what CI runs (needs Postgres, see README)
# make bench  reruns every figure in BENCHMARKS.md, one after another so
#             that they do not disturb each other (about 5 minutes)

.PHONY: test bench

test:
	go vet ./... && go test -race ./...

BENCH = go test -run '^$$' -benchmem

bench:
	@echo "== machine"; nproc; grep MemTotal /proc/meminfo; go version; date -u
	@echo "== Personio client: fetch 10,000 people (limits off)"
	$(BENCH) -bench 'BenchmarkFetchAll' -count 3 ./personio/
	@echo "== simulator: generate 100,000 people"
	$(BENCH) -bench 'BenchmarkSeed100k' ./personio/personiotest/
	@echo "== full sync 1,000 and 10,000 (in process, simulator over loopback)"
	$(BENCH) -bench 'BenchmarkFullSync/(memory|postgres)/(1000|10000)$$' -benchtime 3x ./personio/mirror/
	@echo "== full sync 100,000 (one process each, for its peak RSS)"
	$(BENCH) -bench 'BenchmarkFullSync/memory/100000$$' -benchtime 1x -timeout 30m ./personio/mirror/
	$(BENCH) -bench 'BenchmarkFullSync/postgres/100000$$' -benchtime 1x -timeout 30m ./personio/mirror/
	@echo "== incremental sync: 10 changes among 10,000"
	$(BENCH) -bench 'BenchmarkIncrementalSync' -benchtime 10x ./personio/mirror/
	@echo "== directory memory, replica start-up and propagation"
	$(BENCH) -bench 'BenchmarkDirectoryMemory' -benchtime 1x ./store/
	$(BENCH) -bench 'BenchmarkReplicaStartup' -benchtime 3x ./store/postgres/
	$(BENCH) -bench 'BenchmarkReplicaPropagation' -benchtime 200x ./store/postgres/
	@echo "== SCIM in process"
	$(BENCH) -bench . -benchtime 3s ./scim/
	@echo "== SCIM over loopback, 32 clients, with the same-run baseline"
	go run ./cmd/scim-bench --scenario all --employees 10000 --format markdown
	go run ./cmd/scim-bench --scenario lookup --employees 10000 --concurrency 8 --format markdown
