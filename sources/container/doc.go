// Package container decodes the log files container runtimes write, for the docker_containers and kubernetes
// inputs and for log_files with a container format: Docker's json-file driver (one JSON object per line,
// dockerd splitting long messages into partial records of 16 KiB) and the CRI format the kubelet reads
// (containerd, CRI-O: "<time> <stream> <P|F> <content>"). Facts on both formats: ../shared/research/sources-spec.md
// sections 4-5. The tailing itself (rotation, identity, checkpoints, joining partial records) is sources/file's:
// this package gives it the decoders (Formats) and, for docker_containers (NewDocker), the globs of dockerd's
// containers directory, the name and label filters and each container's metadata from its config.v2.json. It is
// the one source package that imports another (sources/file), as the container inputs are file inputs.
package container
