package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/store"
)

// RegistryCmd groups the registry commands.
type RegistryCmd struct {
	Show   RegistryShowCmd   `cmd:"" help:"Print the inputs and streams of a registry with offset, size and lag."`
	Export RegistryExportCmd `cmd:"" help:"Write a registry as versioned JSON on stdout (secrets redacted)."`
	Import RegistryImportCmd `cmd:"" help:"Replace a registry's content with JSON written by 'registry export'."`
	Reset  RegistryResetCmd  `cmd:"" help:"Make one input start over: forget its file positions and API cursor."`
}

// registryLocation is the flag every registry command takes.
type registryLocation struct {
	RegistryFile string        `name:"registry-file" default:"${default_track_path}" placeholder:"PATH" help:"Registry to open: a local bbolt file, or s3://bucket/key (its latest snapshot)."`
	LockTimeout  time.Duration `name:"lock-timeout" default:"1s" help:"How long to wait for a registry locked by a running flicker."`
	s3Flags      `embed:""`
}

// open opens the registry, explaining a lock held by a running flicker (exit 3) and a missing file. An S3
// registry is read from its latest snapshot into a temp file (readOnly only); cleanup removes it.
func (l registryLocation) open(readOnly bool) (db *store.DB, cleanup func(), err error) {
	cleanup = func() {}
	if isS3(l.RegistryFile) {
		if !readOnly {
			return nil, cleanup, usageError("internal: writing an S3 registry goes through importS3")
		}
		return l.openS3Snapshot()
	}
	db, err = l.openLocal(readOnly)
	return db, cleanup, err
}

func (l registryLocation) openLocal(readOnly bool) (*store.DB, error) {
	fi, err := os.Stat(l.RegistryFile)
	if readOnly && err != nil {
		return nil, fmt.Errorf("registry %s: %w", absPath(l.RegistryFile), err)
	}
	// A writable open would turn an empty file into a new registry: refuse it as show does.
	if err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		err = fmt.Errorf("the file is empty: %w", store.ErrNotRegistry)
	} else {
		var db *store.DB
		db, err = store.Open(l.RegistryFile, store.Options{ReadOnly: readOnly, LockTimeout: l.LockTimeout},
			zerolog.Nop())
		if err == nil {
			return db, nil
		}
	}
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, &exitError{code: exitFenced, err: err}
	case errors.Is(err, store.ErrNotRegistry):
		return nil, usageError("registry %s: %v: check --registry-file (flicker run --track creates a registry; "+
			"registry import fills one from an export)", absPath(l.RegistryFile), err)
	}
	return nil, err
}

// RegistryShowCmd prints a registry as a table.
type RegistryShowCmd struct {
	registryLocation
}

// Help documents how names are printed (kong shows it under the command's own --help).
func (c *RegistryShowCmd) Help() string {
	return "A name (input, path, endpoint, cursor) with a control character, invalid UTF-8, a space at either " +
		"end or a leading double quote is printed double-quoted with Go escapes (\\n, \\x1b, \\xff), so that " +
		"it can neither forge a row nor reach the terminal; other names are printed as they are."
}

// Run prints the registry's meta line and one row per tracked file.
func (c *RegistryShowCmd) Run(e *env) error {
	db, cleanup, err := c.open(true)
	if err != nil {
		return err
	}
	defer cleanup()
	defer db.Close()
	files, err := db.AllFiles()
	if err != nil {
		return err
	}
	m := db.Meta()
	fmt.Fprintf(e.stdout, "registry %s: format %d, instance %s, epoch %d, seq %d, updated %s\n",
		shownName(c.displayName(db)), m.FormatVersion, m.InstanceID, m.Epoch, m.Seq, m.Updated.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INPUT\tPATH\tINODE\tGEN\tOFFSET\tSIZE\tLAG\tLAST SEEN")
	for _, f := range files {
		size := currentSize(f)
		path := shownName(f.Path)
		if name := container.DockerName(f.Path); name != "" {
			path += " (" + shownName(name) + ")" // a docker_containers log: its container's name
		} else if name := container.PodName(f.Path); name != "" {
			path += " (" + shownName(name) + ")" // a kubernetes log: namespace/pod/container, from its path
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", shownName(f.Input), path, f.Inode, f.Generation, f.Offset, size,
			max(size-f.Offset, 0), f.LastSeen.UTC().Format(time.RFC3339))
	}
	if len(files) == 0 {
		fmt.Fprintln(tw, "(no files tracked)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return showCursors(e.stdout, db)
}

// showCursors prints one row per API source cursor (credentials redacted), when there are any.
func showCursors(w io.Writer, db *store.DB) error {
	cursors, err := db.AllCursors()
	if err != nil || len(cursors) == 0 {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nAPI SOURCE\tENDPOINT\tLAST EVENT\tRECENT IDS\tNEXT")
	for _, c := range cursors {
		c = store.RedactedCursor(c)
		last := "-"
		if !c.LastTime.IsZero() {
			last = c.LastTime.UTC().Format(time.RFC3339Nano)
		}
		next := c.Cursor
		if next == "" {
			next = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", shownName(c.Input), shownName(c.Endpoint), last, len(c.RecentIDs),
			shownName(next))
	}
	return tw.Flush()
}

// shownName is s as registry show prints it: unchanged when it is printable UTF-8, else Go-quoted, so that a
// file name cannot forge a row (newline, tab), reach the terminal (escape sequences, bidi controls) or pass for
// another name (invalid UTF-8). A name that starts with a double quote or has a space at either end is quoted
// too, so that a quoted name and a plain one never look alike.
func shownName(s string) string {
	if s == "" || s[0] == '"' || s[0] == ' ' || s[len(s)-1] == ' ' || !utf8.ValidString(s) ||
		strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// currentSize is the file's size on disk now when the path still holds the same inode, else the size recorded.
func currentSize(f store.FileRecord) int64 {
	fi, err := os.Stat(f.Path)
	if err != nil {
		return f.Size
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Ino == f.Inode {
		return fi.Size()
	}
	return f.Size
}

// RegistryExportCmd writes a registry as JSON.
type RegistryExportCmd struct {
	registryLocation
}

// Run writes the export JSON on stdout.
func (c *RegistryExportCmd) Run(e *env) error {
	db, cleanup, err := c.open(true)
	if err != nil {
		return err
	}
	defer cleanup()
	defer db.Close()
	return db.Export(e.stdout)
}

// RegistryImportCmd loads a registry from export JSON.
type RegistryImportCmd struct {
	registryLocation
	From     string        `arg:"" name:"file" default:"-" help:"JSON written by 'registry export'; - reads stdin."`
	LeaseTTL time.Duration `name:"lease-ttl" default:"15s" help:"S3 registries: the lease TTL the instances use; a lease not renewed for this long (plus a margin) is taken over, one still renewed refuses the import."`
}

// Run replaces the registry's content with the JSON's, then commits.
func (c *RegistryImportCmd) Run(e *env) error {
	var r io.Reader = os.Stdin
	if c.From != "-" {
		f, err := os.Open(c.From)
		if err != nil {
			return usageError("import: %v", err)
		}
		defer f.Close()
		r = f
	}
	if isS3(c.RegistryFile) {
		return c.importS3(e, r)
	}
	db, err := c.openLocal(false)
	if err != nil {
		return err
	}
	if err := db.Import(r); err != nil {
		db.Close()
		return &exitError{code: exitUsage, err: fmt.Errorf("import into %s: %w", absPath(c.RegistryFile), err)}
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "imported into %s\n", absPath(c.RegistryFile))
	return nil
}
