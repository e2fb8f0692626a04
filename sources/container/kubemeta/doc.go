// Package kubemeta keeps the Kubernetes metadata of the pods on this node (labels, allow-listed annotations, node
// name, controller owner), for the kubernetes input's `metadata: api`. It runs one client-go informer: a list and
// a watch of GET /api/v1/pods?fieldSelector=spec.nodeName=<node>, with the node's name from the config (a pod
// learns it from the downward API, spec.nodeName, as $(NODE_NAME)).
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
// also at once after a 401, so a rotated token mends a refused one on the next retry. RBAC: get, list and watch on pods; nothing else, since the owner is derived
// from names (see Owner) without reading ReplicaSets or Jobs.
//
// Caveats:
//   - Memory: each pod is stripped to its name, namespace, UID, labels, allow-listed annotations, node name and
//     controller reference before it is cached (managedFields, the spec and the status are dropped as they
//     arrive); benchmarks/RESULTS.md has the cost at 500 pods.
//   - Failures: a list or watch error (401, 403, 5xx, an unreachable server) is logged and retried with
//     client-go's backoff (0.8 s doubling to 30 s) for as long as Run runs; Run never gives up on its own, since
//     a rotated token or an RBAC fix mends it without a restart. A 410 Gone (the watch fell out of the server's
//     history) relists. Stats.WatchErrors counts the failures.
//   - A deleted pod stays cached for Config.DeleteGrace, since its last lines are read after its deletion.
//   - client-go's own log lines go to the logger given to New (at debug and trace level but its errors); the
//     package does not touch klog's global logger.
//   - The streaming list (WatchList, sendInitialEvents) is not used: a node's pods are a small list.
package kubemeta
