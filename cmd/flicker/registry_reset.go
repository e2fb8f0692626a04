package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/flickerlog/flicker/store"
)

// RegistryResetCmd makes one input start over: a command rather than a run flag, which would stay in a pod's
// arguments and reset the input at every restart.
type RegistryResetCmd struct {
	registryLocation
	Input    string        `arg:"" name:"input" help:"The name of the input (log_files, docker_containers, kubernetes or api_sources) to start over."`
	LeaseTTL time.Duration `name:"lease-ttl" default:"15s" help:"S3 registries: the lease TTL the instances use; a lease still renewed refuses the reset (stop flicker first)."`
}

// Run forgets the input's file positions and API cursor. The next run starts it as on a first start: files at
// start_position, API sources at initial_lookback.
func (c *RegistryResetCmd) Run(e *env) error {
	reset := func(db *store.DB) error {
		files, cursor, err := inputState(db, c.Input)
		if err != nil {
			return err
		}
		if files == 0 && !cursor {
			names, err := inputNames(db)
			if err != nil {
				return err
			}
			return usageError("no state for input %q (inputs with state: %v)", c.Input, names)
		}
		db.DeleteInput(c.Input)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := db.Flush(ctx); err != nil {
			return err
		}
		what := fmt.Sprintf("%d file positions", files)
		if cursor {
			what += " and its API cursor"
		}
		fmt.Fprintf(e.stderr, "reset input %s: %s forgotten; the next run starts it over\n", c.Input, what)
		return nil
	}
	if isS3(c.RegistryFile) {
		return c.modifyS3(e, c.LeaseTTL, "reset input "+c.Input+" in", "uploaded", false, reset)
	}
	db, err := c.openLocal(false)
	if err != nil {
		return err
	}
	if err := reset(db); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// inputState counts the file records of input and says whether it has a cursor.
func inputState(db *store.DB, input string) (files int, cursor bool, err error) {
	recs, err := db.Files(input)
	if err != nil {
		return 0, false, err
	}
	_, cursor, err = db.Cursor(input)
	return len(recs), cursor, err
}

// inputNames lists the inputs that have state, sorted.
func inputNames(db *store.DB) ([]string, error) {
	files, err := db.AllFiles()
	if err != nil {
		return nil, err
	}
	cursors, err := db.AllCursors()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Input)
	}
	for _, c := range cursors {
		names = append(names, c.Input)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
