// Package kubemeta keeps the Kubernetes metadata of the pods on this node (labels, allow-listed annotations, node
// name, controller owner), for the kubernetes input's `metadata: api`. It lists, then watches, GET
// /api/v1/pods?fieldSelector=spec.nodeName=<node>, with the node's name from the config (a pod learns it from
// the downward API, spec.nodeName, as $(NODE_NAME)).
//
// It does this itself, in a few hundred lines over net/http and encoding/json, rather than with k8s.io/client-go's
// informer: linking client-go (and k8s.io/api's types) made the flicker binary 12.7 MB larger and every flicker,
// Kubernetes or not, 5 MiB larger in RSS at start, against a 48 MiB budget at 500 containers; the hand-written
// list and watch cost nothing at start and hold 500 pods in 0.65 MiB of heap (benchmarks/RESULTS.md, "Kubernetes
// pod metadata"). What it does of client-go's reflector: a list (from the API server's watch cache first,
// resourceVersion=0), a watch from the list's resourceVersion with bookmarks and a 5-10 minute timeout, a new
// watch from the last resourceVersion when one ends, a consistent list (paged, 500 a page) after a 410 Gone,
// pods missing from a relist marked deleted, and a capped exponential backoff with jitter on failures. What it
// leaves out: the streaming list (sendInitialEvents) and protobuf; a node's pods are a small list.
//
// Use:
//
//	w, err := kubemeta.New(cfg, log) // checks the config and the credentials' files; no request yet
//	go func() { errc <- w.Run(ctx) }() // the caller owns Run; it returns when ctx ends
//	pod, ok := w.Pod(ctx, uid)         // the pod UID from the log path /var/log/pods/<ns>_<name>_<uid>/
//
// Pod answers from the cache at once. A pod it does not know yet (its first lines are often read before the
// watch delivers it) is waited for at most Config.WaitTimeout, once per UID: later calls for a UID that was
// waited for in vain answer at once until MissRetry has passed, so a slow or unreachable API server never
// holds events back longer than one timeout per pod. Every call that answers false is counted (Stats.Missing;
// the input exports it as flicker_kubernetes_metadata_missing_total) and the caller ships the event with what
// the path says.
//
// Credentials: in a pod, the service account's token and CA (/var/run/secrets/kubernetes.io/serviceaccount) and
// KUBERNETES_SERVICE_HOST/PORT, as client-go's rest.InClusterConfig; Host, TokenFile and CAFile override them
// (tests, out-of-cluster use). The token file is re-read every minute, as client-go's BearerTokenFile does, and
// also at once after a 401, so a rotated token mends a refused one on the next retry. HTTPS_PROXY and NO_PROXY
// apply. RBAC: list and watch on pods; nothing else, since the owner is derived from names (see Owner) without
// reading ReplicaSets or Jobs.
//
// Caveats:
//   - Memory: each pod is decoded one at a time, from the list's stream as from the watch's, into only its name,
//     namespace, UID, labels, annotations, node name and owner references (managedFields, the spec and the
//     status are skipped by the decoder), and only the allow-listed annotations are kept.
//   - Failures: a list or watch error (401, 403, 5xx, an unreachable server) is logged and retried with backoff
//     (Config.RetryBackoff, 0.8 s doubling to 30 s, as client-go) for as long as Run runs; Run never gives up on
//     its own, since a rotated token or an RBAC fix mends it without a restart. A 410 Gone (the watch fell out
//     of the server's history) relists. Stats.WatchErrors counts the failures, Stats.Lists the lists.
//   - A deleted pod stays cached for Config.DeleteGrace, since its last lines are read after its deletion.
//   - Until the first list has answered, every pod is unknown: Pod waits for it as for a new pod.
package kubemeta
