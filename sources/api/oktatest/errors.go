package oktatest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// apiError is an Okta error response: {"errorCode","errorSummary","errorLink","errorId","errorCauses"}.
type apiError struct {
	status  int
	code    string
	summary string
	causes  []string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.summary) }

// Error bodies as documented for the System Log API (codes and summaries from the Okta reference).
var (
	errRateLimited = &apiError{status: http.StatusTooManyRequests, code: "E0000047",
		summary: "API call exceeded rate limit due to too many requests."}
	errInvalidToken = &apiError{status: http.StatusUnauthorized, code: "E0000011", summary: "Invalid token provided"}
	errForbidden    = &apiError{status: http.StatusForbidden, code: "E0000006",
		summary: "You do not have permission to perform the requested action"}
	errTooLong = &apiError{status: http.StatusInternalServerError, code: "E0000009",
		summary: "Your last request took too long to complete. This is likely due to a load issue on our side. " +
			"We've logged the problem and will investigate. Please try again."}
	errMethod = &apiError{status: http.StatusMethodNotAllowed, code: "E0000022",
		summary: "The endpoint does not support the provided HTTP method"}
)

func validationError(field, cause string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "E0000001",
		summary: fmt.Sprintf("Api validation failed: '%s': %s", field, cause), causes: []string{field + ": " + cause}}
}

func invalidFilter(filter, cause string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "E0000053",
		summary: fmt.Sprintf("Invalid filter '%s': %s", filter, cause)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	type cause struct {
		ErrorSummary string `json:"errorSummary"`
	}
	body := struct {
		ErrorCode    string  `json:"errorCode"`
		ErrorSummary string  `json:"errorSummary"`
		ErrorLink    string  `json:"errorLink"`
		ErrorID      string  `json:"errorId"`
		ErrorCauses  []cause `json:"errorCauses"`
	}{ErrorCode: e.code, ErrorSummary: e.summary, ErrorLink: e.code,
		ErrorID: fmt.Sprintf("oae%019x", rand.Uint64()), ErrorCauses: []cause{}}
	for _, c := range e.causes {
		body.ErrorCauses = append(body.ErrorCauses, cause{c})
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
