package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/flickerlog/flicker/store"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(crashChild(path))
	}
	goleak.VerifyTestMain(m)
}

func testLog(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
}

// quiet are options for tests that only commit through Flush and Close.
var quiet = store.Options{CommitInterval: time.Hour, LockTimeout: 50 * time.Millisecond}

func openT(t testing.TB, path string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(path, opts, testLog(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "data", "registry.db") }

func flush(t testing.TB, db *store.DB) {
	t.Helper()
	ctx, cancel := contextWithTimeout(t)
	defer cancel()
	if err := db.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}
