package oktatest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"

	"github.com/flickerlog/flicker/sources/api/internal/emulator"
)

// scaffoldErrors are the error answers of the System Log API before a query is read (codes and summaries from
// the Okta reference).
var scaffoldErrors = emulator.Errors{
	RateLimited: &emulator.Error{Status: http.StatusTooManyRequests, Code: "E0000047",
		Message: "API call exceeded rate limit due to too many requests."},
	Unauthorized: &emulator.Error{Status: http.StatusUnauthorized, Code: "E0000011", Message: "Invalid token provided"},
	Forbidden: &emulator.Error{Status: http.StatusForbidden, Code: "E0000006",
		Message: "You do not have permission to perform the requested action"},
	ServerError: &emulator.Error{Status: http.StatusInternalServerError, Code: "E0000009",
		Message: "Your last request took too long to complete. This is likely due to a load issue on our side. " +
			"We've logged the problem and will investigate. Please try again."},
	MethodNotAllowed: &emulator.Error{Status: http.StatusMethodNotAllowed, Code: "E0000022",
		Message: "The endpoint does not support the provided HTTP method"},
}

func validationError(field, cause string) *emulator.Error {
	return &emulator.Error{Status: http.StatusBadRequest, Code: "E0000001",
		Message: fmt.Sprintf("Api validation failed: '%s': %s", field, cause), Causes: []string{field + ": " + cause}}
}

func invalidFilter(filter, cause string) *emulator.Error {
	return &emulator.Error{Status: http.StatusBadRequest, Code: "E0000053",
		Message: fmt.Sprintf("Invalid filter '%s': %s", filter, cause)}
}

// errorBody is an Okta error response: {"errorCode","errorSummary","errorLink","errorId","errorCauses"}.
func errorBody(e *emulator.Error) []byte {
	type cause struct {
		ErrorSummary string `json:"errorSummary"`
	}
	body := struct {
		ErrorCode    string  `json:"errorCode"`
		ErrorSummary string  `json:"errorSummary"`
		ErrorLink    string  `json:"errorLink"`
		ErrorID      string  `json:"errorId"`
		ErrorCauses  []cause `json:"errorCauses"`
	}{ErrorCode: e.Code, ErrorSummary: e.Message, ErrorLink: e.Code,
		ErrorID: fmt.Sprintf("oae%019x", rand.Uint64()), ErrorCauses: []cause{}}
	for _, c := range e.Causes {
		body.ErrorCauses = append(body.ErrorCauses, cause{c})
	}
	b, _ := json.Marshal(body)
	return b
}
