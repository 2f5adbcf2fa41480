# make test   runs what CI runs (needs Postgres, see README)
# make bench  reruns every figure in BENCHMARKS.md, one after another so
#             that they do not disturb each other (about 5 minutes)

.PHONY: test bench bench-instructions

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
	@echo "== SCIM lookup, instructions per request (callgrind on the in-process benchmark; immune to machine noise)"
	@$(MAKE) --no-print-directory bench-instructions
	@echo "== SCIM over loopback, 32 clients, with the same-run baseline"
	go run ./cmd/scim-bench --scenario all --employees 10000 --format markdown
	go run ./cmd/scim-bench --scenario lookup --employees 10000 --concurrency 8 --format markdown

# Instructions per SCIM lookup: callgrind counts every instruction of a run of
# BenchmarkLookupUserNameInProcess at two fixed iteration counts; setup (the
# 10,000-person directory) is the same in both, so the difference divided by
# the difference in iterations is the cost of one lookup. (A 1x run is not the setup alone: with -test.benchtime=Nx the
# testing package runs the function once with N=1 before the N run.)
# Asynchronous preemption is off because its signals trip callgrind; the
# garbage collector is off because when it runs depends on the clock and the
# count would drift with it (the allocations per lookup are in the benchmark's
# allocs/op).
LOOKUPS_FEW = 200
LOOKUPS_MANY = 2200
bench-instructions:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CGO_ENABLED=0 go test -c -o "$$tmp/scim.test" ./scim && \
	count() { cd scim && GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$$tmp/cg.$$1" \
		"$$tmp/scim.test" -test.run '^$$' -test.bench '^BenchmarkLookupUserNameInProcess$$' -test.benchtime "$$1x" -test.cpu 1 \
		2>&1 >/dev/null | sed -n 's/.*Collected : //p'; cd ..; } && \
	few=$$(count $(LOOKUPS_FEW)) && many=$$(count $(LOOKUPS_MANY)) && \
	echo "instructions: $$few at $(LOOKUPS_FEW) lookups, $$many at $(LOOKUPS_MANY)" && \
	echo "instructions per lookup: $$(( (many - few) / ($(LOOKUPS_MANY) - $(LOOKUPS_FEW)) ))"
