// Package apiservertest is a Kubernetes API server for tests that answers the pod list and watch calls a
// node-scoped informer makes, over TLS on 127.0.0.1:
//
//   - GET /api/v1/pods?fieldSelector=spec.nodeName%3D<node>: a PodList of the pods on that node with the
//     current resourceVersion; with a limit, in pages with a continue token, except for resourceVersion=0,
//     whose limit is ignored as the API server's watch cache does.
//   - the same with watch=true (or 1) and resourceVersion=N: newline-delimited watch events
//     ({"type":"ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR","object":...}) for every change after N, then the
//     changes as they happen, until the client goes, Close, CloseWatches or Expire. A pod that moves onto or off
//     the node is ADDED or DELETED for that watch, as the API server does for a field selector. BOOKMARKs go only
//     to watches with allowWatchBookmarks=true. A resourceVersion older than the retained history (see Compact
//     and Expire) answers 410 Gone with an Expired Status; sendInitialEvents answers 422, as a server without
//     the WatchList feature.
//   - Without "Authorization: Bearer <token>" matching SetToken's token: 401 with a Status body.
//   - Any other field selector than spec.nodeName=<name>: 400; other paths: 404.
//
// Faults: SetToken (a rotated or wrong token), SetDelay (a slow server), Pause and Resume (an unreachable one,
// while the pods change unseen), FailNext (5xx answers), Compact and Expire (410), CloseWatches (watch
// timeouts). Counts and Requests say what the client asked.
//
// It speaks HTTP/2 and HTTP/1.1, as the API server. The CA that signed its certificate is in CAFile, for the
// client's CA setting.
package apiservertest
