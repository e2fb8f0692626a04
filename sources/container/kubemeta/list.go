package kubemeta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// listWatch is the pods' list and watch for the informer.
//
// The list is decoded as a stream, each pod stripped as soon as it is decoded: client-go would read the whole
// body and decode every pod in full first, a peak of several MiB at 500 pods (benchmarks/RESULTS.md), at each
// relist. The watch is client-go's: its events come one pod at a time.
//
// It declares that it does not do the streaming list (sendInitialEvents), so the reflector lists and then
// watches, which every API server answers; and it logs the relists, which the reflector does on its own (after
// a 410 Gone in a watch's ERROR event it calls no error handler).
type listWatch struct {
	*cache.ListWatch // the watch
	client           rest.Interface
	selector         string
	keep             map[string]struct{}
	w                *Watcher
	lists            atomic.Uint64
}

func (*listWatch) IsWatchListSemanticsUnSupported() bool { return true }

func (lw *listWatch) ListWithContext(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
	if n := lw.lists.Add(1); n > 1 {
		lw.w.log.Info().Uint64("lists", n).Msg("listing this node's pods again")
	}
	options.FieldSelector = lw.selector
	body, err := lw.client.Get().Resource("pods").VersionedParams(&options, metav1.ParameterCodec).Stream(ctx)
	if err != nil {
		return nil, err // an API status error, kept as it is for the reflector's checks (410, 401)
	}
	defer body.Close()
	list, err := decodePodList(body, lw.keep)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return list, nil
}

func (lw *listWatch) List(options metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), options)
}

// decodePodList decodes a PodList from r, stripping each pod as it is decoded.
func decodePodList(r io.Reader, keep map[string]struct{}) (*corev1.PodList, error) {
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch key, _ := tok.(string); key {
		case "metadata":
			if err := dec.Decode(&list.ListMeta); err != nil {
				return nil, fmt.Errorf("metadata: %w", err)
			}
		case "items":
			if err := expectDelim(dec, '['); err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
			for dec.More() {
				var pod corev1.Pod
				if err := dec.Decode(&pod); err != nil {
					return nil, fmt.Errorf("items[%d]: %w", len(list.Items), err)
				}
				list.Items = append(list.Items, *strip(&pod, keep))
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return list, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %v", tok, want)
	}
	return nil
}
