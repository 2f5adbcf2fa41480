# make test   runs what CI runs (needs Postgres, see README)
# make bench  reruns every figure in BENCHMARKS.md, one after another so
#             that they do not disturb each other (about 5 minutes)
# make bench-memory  the resident memory of serve at 100,000 people (about 10 minutes)

.PHONY: test bench bench-instructions bench-memory

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

# Instructions per SCIM lookup: callgrind counts the instructions executed
# inside one function of scim/bench_test.go and nothing outside it (not the
# setup of the 10,000-person directory, whose count differs between
# processes since hash seeds are random, nor the warm-up):
#   through the handler: countedServe, the service's router serving the
#     request (request log, metrics, routing, authentication, the SCIM
#     handler, the recorder's writes);
#   with httptest building the request: countedLookup, the same plus
#     httptest parsing the request and making the recorder.
# Each figure is the difference between runs at two fixed iteration counts
# divided by the difference in iterations, which also cancels the N=1 run
# the testing package makes before the N run. Two benchmarks:
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
	count() { cd scim && GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$$tmp/cg.$$1.$$2.$$3" \
		--toggle-collect="*scim_test.$$3" \
		"$$tmp/scim.test" -test.run '^$$' -test.bench "^$$1$$" -test.benchtime "$$2x" -test.cpu 1 \
		2>&1 >/dev/null | sed -n 's/.*Collected : //p'; cd ..; } && \
	for bench in steady-state:BenchmarkLookupUserNameInProcess cold:BenchmarkLookupUserNameColdInProcess; do \
		for part in countedServe:"through the handler" countedLookup:"with httptest building the request"; do \
			fn=$${bench#*:}; f=$${part%%:*}; few=$$(count $$fn $(LOOKUPS_FEW) $$f) && many=$$(count $$fn $(LOOKUPS_MANY) $$f) && \
			echo "$${bench%%:*} instructions per lookup, $${part#*:}: $$(( (many - few) / ($(LOOKUPS_MANY) - $(LOOKUPS_FEW)) ))" || exit 1; \
		done; \
	done

# Resident memory of serve with 100,000 people, as separate processes: the
# simulator and one built binary (go run would measure the go command too).
# For the memory store and for a Postgres replica that is not syncing (a
# leader serve syncs a fresh database first; the replica has no Personio
# credentials), it prints VmRSS and VmHWM from /proc 15 s after /readyz turned
# ready, and again after one import: every user paged 100 at a time on one
# connection, as Okta imports. "live" is the heap the last collection found
# live (GODEBUG=gctrace=1), which RSS exceeds by the collector's headroom.
# Until a collection runs after the sync or the load, RSS stays near their
# peak; the last reading follows the collection the runtime forces once two
# minutes pass without one, and shows what is kept.
# BENCH_MEMORY_PEOPLE=10000 makes a quick run; BENCH_MEMORY_TREE=DIR measures
# the binary built from another work tree (a same-run baseline); one from
# before DATABASE_URL=memory: needs BENCH_MEMORY_STORE_URL= (empty).
BENCH_MEMORY_PEOPLE = 100000
BENCH_MEMORY_TREE = .
BENCH_MEMORY_DB = personio_scim_bench_memory
BENCH_MEMORY_PGURL = postgres://postgres@127.0.0.1:5432
BENCH_MEMORY_STORE_URL = memory:
bench-memory:
	@set -eu; tmp=$$(mktemp -d); pids=""; \
	stop() { kill "$$1" 2>/dev/null || true; wait "$$1" 2>/dev/null || true; }; \
	cleanup() { for p in $$pids; do stop $$p; done; rm -rf "$$tmp"; }; \
	trap cleanup EXIT; trap 'exit 1' INT TERM; \
	bin="$$tmp/personio-scim"; token=bench-memory-scim-token-0123456789; \
	(cd $(BENCH_MEMORY_TREE) && go build -o "$$bin" ./cmd/personio-scim); \
	waitready() { n=0; until curl -fs -o /dev/null "$$1/readyz"; do \
		kill -0 $$3 2>/dev/null || { echo "bench-memory: the server of $$1 exited" >&2; tail -5 "$$2" >&2; exit 1; }; \
		n=$$((n+1)); [ $$n -le 1200 ] || { echo "bench-memory: $$1 not ready after 10 minutes" >&2; tail -5 "$$2" >&2; exit 1; }; sleep 0.5; done; }; \
	live() { grep '^gc ' "$$1" | tail -1 | sed -E 's/.*->([0-9]+) MB.*/\1 MB/'; }; \
	report() { printf '%-50s %s  %s  live %s\n' "$$1" "$$(grep VmRSS /proc/$$2/status | tr -s ' \t' ' ')" "$$(grep VmHWM /proc/$$2/status | tr -s ' \t' ' ')" "$$(live "$$3")"; }; \
	import() { total=$$(curl -fsS -H "Authorization: Bearer $$token" "$$1/scim/v2/Users?count=1" | sed -E 's/.*"totalResults":([0-9]+).*/\1/'); \
		codes=$$(curl -sS -H "Authorization: Bearer $$token" -w '%{http_code}\n' -o /dev/null "$$1/scim/v2/Users?startIndex=[1-$$total:100]&count=100" | sort | uniq -c | tr -s ' \n' ' '); \
		echo "  import of $$total users, 100 a page: HTTP$$codes"; }; \
	forced() { n=0; until grep -q '^GC forced' "$$1"; do n=$$((n+1)); [ $$n -le 240 ] || return 0; sleep 1; done; sleep 5; }; \
	measure() { waitready "$$1" "$$3" $$2; sleep 15; report "$$4, ready + 15 s:" $$2 "$$3"; \
		import "$$1"; sleep 5; report "$$4, after one import + 5 s:" $$2 "$$3"; \
		forced "$$3"; report "$$4, after the periodic collection:" $$2 "$$3"; }; \
	echo "== serve memory, $(BENCH_MEMORY_PEOPLE) people ($$(go version | cut -d' ' -f3), $$(git -C $(BENCH_MEMORY_TREE) rev-parse --short HEAD))"; \
	"$$bin" simulate --employees $(BENCH_MEMORY_PEOPLE) --no-rate-limit --listen 127.0.0.1:19191 >"$$tmp/sim.log" 2>&1 & pids="$$pids $$!"; \
	n=0; until curl -s -o /dev/null http://127.0.0.1:19191/; do n=$$((n+1)); [ $$n -le 600 ] || exit 1; sleep 0.5; done; \
	export PERSONIO_BASE_URL=http://127.0.0.1:19191 PERSONIO_RATE_LIMIT=off SYNC_INTERVAL=1h SCIM_TOKEN=$$token LOG_FORMAT=text LOG_LEVEL=warn GODEBUG=gctrace=1; \
	creds="PERSONIO_CLIENT_ID=personio-sim PERSONIO_CLIENT_SECRET=personio-sim-secret"; \
	env $$creds DATABASE_URL=$(BENCH_MEMORY_STORE_URL) LISTEN_ADDR=127.0.0.1:19192 "$$bin" serve >"$$tmp/memory.log" 2>&1 & mem=$$!; pids="$$pids $$mem"; \
	measure http://127.0.0.1:19192 $$mem "$$tmp/memory.log" "memory store"; stop $$mem; \
	psql "$(BENCH_MEMORY_PGURL)/postgres" -qc 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS $(BENCH_MEMORY_DB)' -c 'CREATE DATABASE $(BENCH_MEMORY_DB)'; \
	export DATABASE_URL="$(BENCH_MEMORY_PGURL)/$(BENCH_MEMORY_DB)"; \
	env $$creds LISTEN_ADDR=127.0.0.1:19193 "$$bin" serve >"$$tmp/leader.log" 2>&1 & lead=$$!; pids="$$pids $$lead"; \
	waitready http://127.0.0.1:19193 "$$tmp/leader.log" $$lead; report "postgres leader, after its sync:" $$lead "$$tmp/leader.log"; \
	LISTEN_ADDR=127.0.0.1:19194 "$$bin" serve >"$$tmp/replica.log" 2>&1 & rep=$$!; pids="$$pids $$rep"; \
	measure http://127.0.0.1:19194 $$rep "$$tmp/replica.log" "postgres replica (not syncing)"
