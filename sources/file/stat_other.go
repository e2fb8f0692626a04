//go:build !linux

package file

import "os"

// Without statx the birth time is unknown (0): identity is device, inode and fingerprint.

func lstatPath(path string) (fileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileInfo{}, err
	}
	return infoOf(fi), nil
}

func statPath(path string) (fileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileInfo{}, err
	}
	return infoOf(fi), nil
}

func statFile(f *os.File) (fileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileInfo{}, err
	}
	return infoOf(fi), nil
}
