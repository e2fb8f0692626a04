// Package apiservertest is a Kubernetes API server for tests that answers the pod list and watch calls a
// node-scoped informer makes, over TLS on 127.0.0.1:
//
//   - GET /api/v1/pods?fieldSelector=spec.nodeName%3D<node>: a PodList of the pods on that node with the
//     current resourceVersion (limit is ignored, as the API server does for resourceVersion=0).
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
// The CA that signed the server's certificate is in CAFile, for the client's CA setting.
package apiservertest
