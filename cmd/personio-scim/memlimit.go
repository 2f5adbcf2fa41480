package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/personio-scim/personio-scim/personio/mirror"
)

// cgroupMemoryMax is where a container's memory limit is visible (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// softMemoryLimit derives Go's soft memory limit from the container's hard
// one when GOMEMLIMIT is unset: 90 % of it, so that the garbage collector
// works harder before the kernel would kill the process. Without it the heap
// may grow to twice what is live; a first sync of 100,000 people then peaks
// at 1.15 GB for 585 MB live, and with it under 1 GB.
func softMemoryLimit(read func(string) ([]byte, error), getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	data, err := read(cgroupMemoryMax)
	if err != nil {
		return 0, false
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || limit <= 0 { // "max" means no limit
		return 0, false
	}
	return limit * 9 / 10, true
}

func applySoftMemoryLimit(logger *slog.Logger) {
	if limit, ok := softMemoryLimit(os.ReadFile, os.Getenv); ok {
		debug.SetMemoryLimit(limit)
		logger.Info("soft memory limit set from the container's limit", "bytes", limit)
	}
}

// largeRunPeople is how many people a sync run must read for its memory to
// be handed back to the system when it ends.
const largeRunPeople = 10_000

// releaseAfterLargeRuns hands back to the system the memory a large sync
// run used and let go of. The collector keeps freed pages mapped for reuse
// and the runtime returns them only slowly, so after a first sync of
// 100,000 people the process kept twice the heap it needs for minutes
// (900 MiB against 420 MiB once returned), which is what a node's memory
// accounting sees. One forced collection after such a run costs a small
// part of the run; smaller runs leave little behind and skip it.
func releaseAfterLargeRuns(free func()) func(mirror.Report) {
	return func(rep mirror.Report) {
		if rep.People >= largeRunPeople {
			free()
		}
	}
}
