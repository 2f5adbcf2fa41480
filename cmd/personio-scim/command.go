package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// command is one subcommand's set-up: the environment, its flags and, after
// parse, the logger. Every subcommand starts with it, so that flags that
// override variables and the logger behave the same everywhere.
type command struct {
	env    env
	flags  *flag.FlagSet
	stderr io.Writer
	logger *slog.Logger
}

// newCommand reads the environment and prepares name's flag set. usage,
// when not empty, replaces the flag package's listing on -h.
func newCommand(name string, stderr io.Writer, usage string) (*command, error) {
	e, err := loadEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if usage != "" {
		fs.Usage = func() { fmt.Fprint(stderr, usage) }
	}
	return &command{env: e, flags: fs, stderr: stderr}, nil
}

// flagError tells a request for help (exit 0) from wrong wording (exit 2).
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return errUsage
}

// configFlag adds --config, overriding CONFIG_FILE.
func (c *command) configFlag() {
	c.flags.StringVar(&c.env.ConfigFile, "config", c.env.ConfigFile, "YAML configuration file (CONFIG_FILE)")
}

// listenFlag adds --listen, overriding LISTEN_ADDR.
func (c *command) listenFlag() {
	c.flags.StringVar(&c.env.ListenAddr, "listen", c.env.ListenAddr, "address to listen on (LISTEN_ADDR)")
}

// parse parses the flags and opens the logger; a flag error is the
// caller's wording, answered with usage.
func (c *command) parse(args []string) error {
	if err := c.flags.Parse(args); err != nil {
		return flagError(err)
	}
	c.logger = newLogger(c.stderr, c.env.LogFormat, c.env.LogLevel)
	return nil
}
