package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// runCheckConfig validates the environment and CONFIG_FILE and prints the
// effective configuration with secrets redacted.
func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	e, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.ConfigFile, "config", e.ConfigFile, "YAML configuration file (CONFIG_FILE)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	_, cfg, err := loadPolicy(e)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "# environment")
	for _, v := range envVars() {
		val := os.Getenv(v.Name)
		if v.Name == "CONFIG_FILE" {
			val = e.ConfigFile
		}
		switch {
		case val == "":
			val = v.Default
		case v.Secret:
			val = "(set, redacted)"
		}
		fmt.Fprintf(stdout, "%s=%s\n", v.Name, val)
	}
	out, err := cfg.YAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n# configuration: %s\n%s", orDefault(e.ConfigFile), out)
	return nil
}
