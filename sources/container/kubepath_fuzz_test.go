package container_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/sources/container"
)

// FuzzParsePodLogPath: a path under the pods directory either is refused with ErrNotPodLog or is read into parts
// that write back to the path's last three elements exactly.
func FuzzParsePodLogPath(f *testing.F) {
	for _, s := range []string{"/var/log/pods/shop_shop-api-5d9f8b7c6-x2x7q_0c6c7f52-1111-4c39/api/0.log",
		"/var/log/pods/kube-system_coredns-1_uid/coredns/12.log.20261121-100000", "pods/a_b_c/d/01.log",
		"/var/log/pods/a_b_c_d/e/0.log", "/x/A_b_c/d/0.log", "a_b_c/d/0.log", "/a_b_/d/0.log",
		"/a_b.c_u/d/0.log.2026112-1000000", "/a_b_c/d/99999999999999999999.log"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		log, err := container.ParsePodLogPath(path)
		if err != nil {
			if !errors.Is(err, container.ErrNotPodLog) {
				t.Fatalf("%q: error %v is not ErrNotPodLog", path, err)
			}
			return
		}
		tail := log.Namespace + "_" + log.Pod + "_" + log.PodUID + "/" + log.Container + "/" +
			strconv.Itoa(log.RestartCount) + ".log"
		if log.RotatedAt != "" {
			tail += "." + log.RotatedAt
		}
		if path != tail && !strings.HasSuffix(path, "/"+tail) {
			t.Fatalf("%q read as %+v, which writes back to %q", path, log, tail)
		}
	})
}

// FuzzParseContainerLink: a legacy symlink's name is refused with ErrNotPodLog or read into parts that write back
// to the name.
func FuzzParseContainerLink(f *testing.F) {
	for _, s := range []string{"/var/log/containers/shop-api-5d9f8b7c6-x2x7q_shop_api-4f66ad9a0b3f2b1c.log",
		"coredns-1_kube-system_coredns-abcdef.log", "a_b_c.log", "a_b_c-12345.log", "/x/a_b_c-d-e-123456.log",
		"A_b_c-123456.log"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		link, err := container.ParseContainerLink(path)
		if err != nil {
			if !errors.Is(err, container.ErrNotPodLog) {
				t.Fatalf("%q: error %v is not ErrNotPodLog", path, err)
			}
			return
		}
		name := link.Pod + "_" + link.Namespace + "_" + link.Container + "-" + link.ContainerID + ".log"
		if path != name && !strings.HasSuffix(path, "/"+name) {
			t.Fatalf("%q read as %+v, which writes back to %q", path, link, name)
		}
	})
}
