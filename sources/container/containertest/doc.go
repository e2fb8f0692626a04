// Package containertest writes container logs as container runtimes, dockerd and the kubelet do, for tests.
package containertest
