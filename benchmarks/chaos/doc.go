// Package chaos is the chaos and soak harness (issue 16): it attacks the built flicker binary the way production
// does, several faults at once, and counts every line. Its entry point is TestChaos, driven by flags:
//
//	go test -run '^TestChaos$' ./benchmarks/chaos                        # the short profile (2 minutes of faults)
//	make chaos DURATION=30m SEED=7 REPORT=chaos.json                     # the long profile
//
// Flags: -chaos.duration (how long faults are injected; default 2m, the short profile that `make test` runs under
// -race), -chaos.seed (the schedule, the writers' long lines and rotations), -chaos.report FILE (the report as
// JSON; it is always printed as a table with -v or on failure), -chaos.files (plain log files, default 50),
// -chaos.containers (Docker containers and as many Kubernetes pods, default 3), -chaos.net (a network output per
// pod, default true), -chaos.soak (see the soak), -chaos.strict (default true; =false reports duplicates out of
// the window and events never written instead of failing on them) and -chaos.dir DIR (keep the run's files: logs,
// outputs, pod logs and configs; default a temp dir).
//
// # What runs
//
// A real MinIO (internal/miniotest) behind its fault proxy, and flicker (built once, without -race so that its
// memory is its own) in S3 mode: --registry-file s3://chaos/chaos/registry.json with restricted credentials,
// --snapshot-interval 1s, --lease-ttl 3s (a takeover after a kill -9 waits 3s plus the 2s skew margin),
// --history-interval 5s, --commit-interval 250ms, each pod with a fresh --state-dir (a new pod), its own file
// output file and its own --http-addr for metrics. Writers append numbered lines at a steady rate to 50 files
// (10 lines/s each): "chaos f017 000000123 1/1 <padding>". About one line in 50 is longer than max_line_bytes
// (2048): three pieces of exactly 2048 bytes, each with its own header ("… 2/3 …"), so that the events flicker
// cuts it into are checked one by one. Each file is rotated every 15-45s, by rename+create or by copytruncate
// (chosen by the seed), to a name the glob does not match (f017.log.3); two rotations are kept, older ones
// deleted. The rotation log records each part (a file's lines from its creation or truncation to its rotation):
// seq range, kind, when rotated and deleted.
//
// Every pod ships to its file output and to one network output, chosen by the seed per pod: http, to a collector
// of its own (sinks/http/collecttest, so that what it accepts is known by pod), or elasticsearch, to one emulated
// cluster all pods share (sinks/elasticsearch/estest, op_type index: an event sent again is indexed again under its
// _id; the sending pod is read from fields.pod, which every pod adds to its events). The cluster always answers 5%
// of the items with a per-item 429.
//
// Container logs: 3 Docker containers (json-file, written by containertest's dockerd emulator) and 3 Kubernetes
// pods (CRI, containerd's writer) print numbered messages at the same rate; about one in 50 is 40 KiB, which the
// runtimes write as partial records of 16 KiB that flicker must join (max_line_bytes 64 KiB for those inputs):
// the message must arrive whole, checked by its length. Their logs are not rotated.
//
// The file outputs write to a 96 MiB tmpfs (rotate_bytes 4 MiB, four rotated files kept, followed by the reader
// however many times the output rotated between two polls or before the first one; the harness removes a pod's
// files once the pod ended and they were read, and copies them to DIR/outputs first with -chaos.dir), the disk a
// fault fills. Where a tmpfs cannot be mounted (not root) that fault is not
// injected and the report says so. The harness reads every pod's output file while
// the run goes on (every 250ms), so it knows when, and by which pod, each event arrived. It samples each pod every
// second: peak RSS (VmHWM of /proc/PID/status), open descriptors (/proc/PID/fd) and go_goroutines from its
// /metrics, and scrapes the snapshot metrics (flicker_snapshot_uploads_total, _last_success_age_seconds,
// _duration_seconds) just before each kill.
//
// # Faults
//
// The schedule (see schedule) spreads them evenly over the duration in an order drawn from the seed; the counts
// scale with it (a 30-minute run: 23 kill -9s, 2 long-downtime kill -9s, 6 SIGTERMs, 3 second instances,
// 3 corrupted snapshots, 5 MinIO outages, 3 disk-full and 6 network output outages; the short profile at least
// one of each kind and 2 kill -9s):
//   - kill -9 of the running pod and a new pod on a fresh state dir (it takes the lease over after TTL + skew);
//   - kill -9 with a long downtime: while no pod runs, three files are rotated and the rotated files deleted;
//   - SIGTERM and a new pod (the clean stop uploads a final snapshot);
//   - a second instance: a --standby pod started next to the holder, which must ship nothing while the holder
//     lives; then the holder is killed and the standby takes over;
//   - MinIO paused (the proxy holds every byte), its connections reset repeatedly, or the server stopped and
//     restarted, for 3-6s;
//   - the latest snapshot object overwritten with garbage (directly, not through the proxy), every other time
//     while the holder runs (it stops, fenced: exit 3) and then killed, else after it was killed and before the
//     next pod starts: the next pod must restore from the history;
//   - the file output's disk full: a filler file takes every free byte of the tmpfs for 3-6s, then goes;
//   - the holder's network output failing (every request 503), stalled (every request held), or rate-limited (the
//     collector answers 429 with Retry-After; the cluster rejects half the items with a per-item 429), for 3-6s.
//
// Every fault but MinIO's waits until the holder has been reading for 2s, so that none hits a pod that did
// nothing. A pod
// that exits by itself (a holder that finds the latest snapshot replaced by garbage exits 3, fenced) is replaced
// and counted as "after_unexpected_exit". Any other exit by itself, and a SIGTERM that does not end in exit 0,
// fails the run.
//
// # The soak
//
// From a 10-minute duration on, the faults that end pods are followed by a soak of a sixth of the duration
// (-chaos.soak overrides it; the short profile has none): the pod that holds the registry keeps running while
// the writers go on and, every 45s, a fault that does not end it (MinIO paused or reset, the network output
// failing, stalled or answering 429, the disk full). Its goroutines and open descriptors 30s into the soak and at
// its end are reported, and the test fails when they grew by more than 10 goroutines or 25 descriptors: a leak
// grows with every fault and rotation, which pods killed every minute would hide. It fails too when it cannot
// compare them: no pod was reading when it began, or the pod ended during it.
//
// # The check
//
// At the end the writers stop, a pod runs until every event arrived (or nothing new arrived for 10s), and stops
// with SIGTERM. Then every event written (a line, a piece of a long line, a container message) is checked:
//   - delivered at least once to every output of the last pod that delivered it anywhere (that pod read it, so
//     its registry had not passed it: the event was its to finish), and to the file output (every pod has one);
//     else it is lost, unless its part may be lost (below);
//   - nothing delivered that was never written, nothing that a standby delivered while the holder lived;
//   - duplicates only within the window. The rule: each pod restored a registry that has a lineage, the pod that
//     wrote the snapshot it restored and when that snapshot was taken ("created" in the restore log), then where
//     that pod's registry came from, and so on. A delivery again of an event by pod P is out of the window when an
//     earlier delivery of it to the same output was made by a pod A of P's lineage whose position at that output
//     passed the event more than 3s (the slack: the harness's polling interval, the commit interval and a loaded
//     machine's acknowledgement latency) before A's registry was taken, or by P itself unless the answer to P's
//     earlier request never reached it (the collector or cluster answered after P's client had timed out and
//     closed the connection; those are reported as sent again after a lost answer). A position is a prefix: it
//     passes an event once A delivered it and every event before it in the same file part (an event delivered
//     early waits for an earlier one retried after a per-item 429 or held by an output down). For container logs,
//     which keep no per-output positions, the position passes an event when every output of A's pod had it and
//     every event before it. That is DESIGN.md's promise: what is
//     re-sent after a crash is at most what was done since the last uploaded snapshot (the history slot after a
//     fallback), and nothing after a clean stop. The snapshot metrics scraped before each kill are in the report
//     (snapshot_at_kill); the rule uses what the next pod restored, which its log names exactly.
//
// The allowed loss, reported on its own line and never counted as lost: the lines of a part deleted while no pod
// was reading (from the end of a pod that was reading to 1s after the next one was ready), and of a part rotated
// while no pod was reading (its file then has a name the globs do not match, and only a registry record lets
// flicker find it) when the registry the next pod restored held none of its lines (by the lineage rule above).
// That last case is what a copytruncate while down costs when flicker never saw the file's current content, and
// what a fallback to an older history slot adds to it.
//
// flicker's own loss counters (flicker_input_truncated_bytes_lost_total, flicker_input_missing_bytes_lost_total,
// flicker_input_partial_bytes_dropped_total, scraped before each pod ended) must agree with the rotation log.
// flicker counts what it knew a lost file held beyond its position (by the registry it restored, or its last
// stat): a lower bound, since what was written after the last snapshot is unknown to it. So no pod may count more
// bytes lost than were written to the parts deleted while no pod was reading, and none may count anything when
// no part was (a pod counts a part once; a pod killed before its next snapshot leaves the next pod to count it
// again, so the bound is per pod). A count beyond it is a loss flicker reports that the harness never caused.
//
// The test fails when an event is lost, nothing was delivered, an event was delivered by a fenced standby, a pod's
// peak RSS is above 128 MiB, a pod's loss counters disagree with the rotation log, the soak saw growth, a
// duplicate is out of the window or an event was delivered that was never written (-chaos.strict=false only
// reports the last two, to investigate a run to its end). Nothing is timed: the machine is shared and the profile
// runs under -race.
package chaos
