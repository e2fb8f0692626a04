// Package durable holds the small filesystem steps that make a write survive a crash.
package durable

import "os"

// SyncDir fsyncs a directory so that entries created or renamed in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
