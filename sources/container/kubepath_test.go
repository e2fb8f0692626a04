package container_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/sources/container"
)

func TestParsePodLogPath(t *testing.T) {
	tests := []struct {
		path string
		want container.PodLog
	}{
		{"/var/log/pods/default_web-7d4b9c8f5-x2k9p_0f4c6a2e-1b3d-4e5f-8a9b-c0d1e2f3a4b5/nginx/0.log",
			container.PodLog{Namespace: "default", Pod: "web-7d4b9c8f5-x2k9p",
				PodUID: "0f4c6a2e-1b3d-4e5f-8a9b-c0d1e2f3a4b5", Container: "nginx"}},
		{"/var/log/pods/kube-system_kube-proxy-9zq7m_5a1b2c3d-4e5f-6789-abcd-ef0123456789/kube-proxy/12.log",
			container.PodLog{Namespace: "kube-system", Pod: "kube-proxy-9zq7m",
				PodUID: "5a1b2c3d-4e5f-6789-abcd-ef0123456789", Container: "kube-proxy", RestartCount: 12}},
		{"/var/log/pods/shop_checkout-0_8c9d0e1f-2a3b-4c5d-6e7f-8091a2b3c4d5/app/3.log.20240501-101500",
			container.PodLog{Namespace: "shop", Pod: "checkout-0", PodUID: "8c9d0e1f-2a3b-4c5d-6e7f-8091a2b3c4d5",
				Container: "app", RestartCount: 3, RotatedAt: "20240501-101500"}},
		// A static pod: its name carries the node's, dots and all, and its uid is the manifest's hash.
		{"/var/log/pods/kube-system_kube-apiserver-ip-10-0-1-23.ec2.internal_3f2c1b0a9e8d7c6b5a4f3e2d1c0b9a88/kube-apiserver/0.log",
			container.PodLog{Namespace: "kube-system", Pod: "kube-apiserver-ip-10-0-1-23.ec2.internal",
				PodUID: "3f2c1b0a9e8d7c6b5a4f3e2d1c0b9a88", Container: "kube-apiserver"}},
		// Only the last three elements count: a relative path, another pods directory.
		{"ns_p_u/c/0.log", container.PodLog{Namespace: "ns", Pod: "p", PodUID: "u", Container: "c"}},
		{"/host/var/log/pods/a_b_c/d/7.log", container.PodLog{Namespace: "a", Pod: "b", PodUID: "c", Container: "d",
			RestartCount: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := container.ParsePodLogPath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParsePodLogPathRejects(t *testing.T) {
	const dir = "/var/log/pods/default_web-0_0f4c6a2e-1b3d-4e5f-8a9b-c0d1e2f3a4b5/nginx/"
	tests := []struct {
		path   string
		reason string
	}{
		{dir + "0.log.20240501-100000.gz", "neither"},
		{dir + "0.log.20240501-100000.tmp", "neither"},
		{dir + "0.log.gz", "neither"},
		{dir + "0.log.1", "neither"},
		{dir + "0.log.2024050-1101500", "neither"},
		{dir + "0.logx", "neither"},
		{dir + "0.txt", "is not <n>.log"},
		{dir + ".log", "not a decimal number"},
		{dir + "x.log", "not a decimal number"},
		{dir + "-1.log", "not a decimal number"},
		{dir + "+1.log", "not a decimal number"},
		{dir + "01.log", "not a decimal number"},
		{dir + "99999999999999999999999.log", "out of range"},
		{"/var/log/pods/default_web-0_uid/Nginx/0.log", "container \"Nginx\""},
		{"/var/log/pods/default_web-0_uid/ngi_nx/0.log", "container \"ngi_nx\""},
		{"/var/log/pods/default_web-0_uid/-nginx/0.log", "container \"-nginx\""},
		{"/var/log/pods/default_web-0/nginx/0.log", "is not <namespace>_<pod>_<uid>"},
		{"/var/log/pods/default_web_0_uid/nginx/0.log", "is not <namespace>_<pod>_<uid>"},
		// The layout of kubelets before 1.14: the pod directory is the uid alone.
		{"/var/log/pods/0f4c6a2e-1b3d-4e5f-8a9b-c0d1e2f3a4b5/nginx/0.log", "is not <namespace>_<pod>_<uid>"},
		{"/var/log/pods/Default_web-0_uid/nginx/0.log", "namespace \"Default\""},
		{"/var/log/pods/_web-0_uid/nginx/0.log", "namespace \"\""},
		{"/var/log/pods/default_web..0_uid/nginx/0.log", "pod name \"web..0\""},
		{"/var/log/pods/default_web-0._uid/nginx/0.log", "pod name \"web-0.\""},
		{"/var/log/pods/default__uid/nginx/0.log", "pod name \"\""},
		{"/var/log/pods/default_web-0_/nginx/0.log", "empty uid"},
		{"nginx/0.log", "want <namespace>"},
		{"0.log", "want <namespace>"},
		{"/var/log/pods/default_web-0_uid//0.log", "want <namespace>"},
		{"", "want <namespace>"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := container.ParsePodLogPath(tt.path)
			if !errors.Is(err, container.ErrNotPodLog) {
				t.Fatalf("got %+v, %v; want ErrNotPodLog", got, err)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.HasPrefix(err.Error(), tt.path+": ") {
				t.Errorf("error %q does not start with the path and say %q", err, tt.reason)
			}
		})
	}
}

func TestParseContainerLink(t *testing.T) {
	const id = "5f8e2a7c9b1d3e4f6a8b0c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f"
	long := strings.Repeat("a", 200)
	// 200 + len("_default_app-") + 64 + len(".log") > 255: the kubelet cuts the name before ".log" to 251 bytes,
	// leaving 38 characters of the id.
	truncated := "/var/log/containers/" + (long + "_default_app-" + id)[:251] + ".log"
	tests := []struct {
		path string
		want container.ContainerLink
	}{
		{"/var/log/containers/web-7d4b9c8f5-x2k9p_default_nginx-" + id + ".log",
			container.ContainerLink{Pod: "web-7d4b9c8f5-x2k9p", Namespace: "default", Container: "nginx", ContainerID: id}},
		{"/var/log/containers/coredns-5d78c9869d-abcde_kube-system_coredns-sidecar-" + id + ".log",
			container.ContainerLink{Pod: "coredns-5d78c9869d-abcde", Namespace: "kube-system",
				Container: "coredns-sidecar", ContainerID: id}},
		{"web.v2-0_default_app-abcdef.log",
			container.ContainerLink{Pod: "web.v2-0", Namespace: "default", Container: "app", ContainerID: "abcdef"}},
		{truncated, container.ContainerLink{Pod: long, Namespace: "default", Container: "app", ContainerID: id[:38],
			Truncated: true}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := container.ParseContainerLink(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseContainerLinkRejects(t *testing.T) {
	tests := []struct {
		path   string
		reason string
	}{
		{"/var/log/containers/web_default_nginx-abcdef.log.1", "does not end in .log"},
		{"/var/log/containers/web_default_nginx-abcdef", "does not end in .log"},
		{"/var/log/containers/web_nginx-abcdef.log", "is not <pod>_<namespace>_<container>-<id>.log"},
		{"/var/log/containers/web_default_x_nginx-abcdef.log", "is not <pod>_<namespace>_<container>-<id>.log"},
		{"/var/log/containers/web_default_nginx.log", "has no -<container id>"},
		{"/var/log/containers/web_default_nginx-abcde.log", "shorter than 6"},
		{"/var/log/containers/web_default_-abcdef.log", "container \"\""},
		{"/var/log/containers/Web_default_nginx-abcdef.log", "pod name \"Web\""},
		{"/var/log/containers/web_de.fault_nginx-abcdef.log", "namespace \"de.fault\""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := container.ParseContainerLink(tt.path)
			if !errors.Is(err, container.ErrNotPodLog) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("got %+v, %v; want ErrNotPodLog saying %q", got, err, tt.reason)
			}
		})
	}
}
