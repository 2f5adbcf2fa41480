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

# Instructions per SCIM lookup, two figures: callgrind counts the
# instructions executed inside countedLookup (scim/bench_test.go), one
# lookup through the service's router (request log, metrics, routing,
# authentication, the SCIM handler) and httptest's request and recorder,
# and nothing outside it: not the setup of the 10,000-person directory, whose count
# differs between processes (hash seeds are random per process), nor the
# warm-up. Each figure is the difference between runs at two fixed
# iteration counts divided by the difference in iterations, which also
# cancels the N=1 run the testing package makes before the N run.
#   steady-state: BenchmarkLookupUserNameInProcess, rotating over 1,000
#     users all looked up once before the counted part, so every answer
#     comes from the User kept for the view: the cost of a lookup most of
#     the time.
#   cold: BenchmarkLookupUserNameColdInProcess, every lookup the first of
#     its user in the view, which renders and keeps the User: the cost
#     after a start, and for the users a sync changed.
# Asynchronous preemption is off because its signals trip callgrind; the
# garbage collector is off because when it runs depends on the clock and the
# count would drift with it (the allocations per lookup are in the
# benchmarks' allocs/op). What remains uneven between processes (stack
# growth, the scheduler waking) is about 0.5% of the steady figure.
LOOKUPS_FEW = 200
LOOKUPS_MANY = 2200
bench-instructions:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CGO_ENABLED=0 go test -c -o "$$tmp/scim.test" ./scim && \
	count() { cd scim && GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$$tmp/cg.$$1.$$2" \
		--toggle-collect='*scim_test.countedLookup' \
		"$$tmp/scim.test" -test.run '^$$' -test.bench "^$$1$$" -test.benchtime "$$2x" -test.cpu 1 \
		2>&1 >/dev/null | sed -n 's/.*Collected : //p'; cd ..; } && \
	for bench in steady-state:BenchmarkLookupUserNameInProcess cold:BenchmarkLookupUserNameColdInProcess; do \
		few=$$(count $${bench#*:} $(LOOKUPS_FEW)) && many=$$(count $${bench#*:} $(LOOKUPS_MANY)) && \
		echo "$${bench%%:*} instructions: $$few at $(LOOKUPS_FEW) lookups, $$many at $(LOOKUPS_MANY)" && \
		echo "$${bench%%:*} instructions per lookup: $$(( (many - few) / ($(LOOKUPS_MANY) - $(LOOKUPS_FEW)) ))" || exit 1; \
	done
