package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the figures were measured.
type machine struct {
	NumCPU     int       `json:"num_cpu"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	MemTotal   int64     `json:"mem_total_bytes,omitempty"` // 0 when /proc/meminfo is unreadable
	GoVersion  string    `json:"go_version"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	Date       time.Time `json:"date"`
}

func describeMachine(now time.Time) machine {
	m := machine{
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Date: now.UTC().Truncate(time.Second),
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		m.MemTotal, _ = memTotal(f)
		f.Close()
	}
	return m
}

// memTotal reads the MemTotal line of /proc/meminfo ("MemTotal: 8140420 kB").
func memTotal(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("meminfo: unexpected MemTotal line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo: MemTotal: %w", err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("meminfo: %w", err)
	}
	return 0, fmt.Errorf("meminfo: no MemTotal line")
}

func (m machine) String() string {
	mem := "memory unknown"
	if m.MemTotal > 0 {
		mem = fmt.Sprintf("%.1f GiB RAM", float64(m.MemTotal)/(1<<30))
	}
	return fmt.Sprintf("%d CPUs, GOMAXPROCS %d, %s, %s %s/%s, %s",
		m.NumCPU, m.GOMAXPROCS, mem, m.GoVersion, m.OS, m.Arch, m.Date.Format(time.RFC3339))
}
