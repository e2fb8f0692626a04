// Package container decodes the log files container runtimes write, for the docker_containers and kubernetes
// inputs and for log_files with a container format: Docker's json-file driver (one JSON object per line,
// dockerd splitting long messages into partial records of 16 KiB) and the CRI format the kubelet reads
// (containerd, CRI-O: "<time> <stream> <P|F> <content>"). Facts on both formats: ../shared/research/sources-spec.md
// sections 4-5. The tailing itself (rotation, identity, checkpoints) is sources/file's.
package container
