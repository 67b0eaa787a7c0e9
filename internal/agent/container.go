package agent

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ContainerPath is where the container credentials endpoint answers; point AWS_CONTAINER_CREDENTIALS_FULL_URI at
// it (http://127.0.0.1:PORT/v1/credentials).
const ContainerPath = "/v1/credentials"

// HealthPath is where the agent reports its health (JSON; 200 when it serves valid credentials, 503 when not).
const HealthPath = "/healthz"

// containerCredentials is the container credentials provider's document, as ECS and EKS Pod Identity answer it.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

// ContainerHandler serves the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) and the health endpoint.
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html
func (a *Agent) ContainerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(ContainerPath, a.serveContainer)
	mux.HandleFunc(HealthPath, a.serveHealth)
	return mux
}

func (a *Agent) serveContainer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		jsonError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only GET is supported.")
		return
	}
	// Fail closed: with no token configured, nothing authorizes a caller.
	got := r.Header.Get("Authorization")
	if a.cfg.ContainerToken == "" || got == "" ||
		subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.ContainerToken)) != 1 {
		jsonError(w, http.StatusUnauthorized, "AccessDenied", "The Authorization header is missing or does not match the agent's container token.")
		return
	}
	s := a.snapshot()
	if s.creds == nil {
		msg := "The agent holds no valid credentials."
		if s.code != "" {
			msg = s.code + ": " + s.message
		}
		jsonError(w, http.StatusServiceUnavailable, "CredentialsUnavailable", msg)
		return
	}
	writeJSON(w, http.StatusOK, containerCredentials{
		AccessKeyID:     s.creds.AccessKeyID,
		SecretAccessKey: s.creds.SecretAccessKey,
		Token:           s.creds.SessionToken,
		Expiration:      s.creds.Expiration.UTC().Format(time.RFC3339),
		RoleArn:         s.identity.RoleARN,
		AccountID:       s.identity.AccountID,
	})
}

func (a *Agent) serveHealth(w http.ResponseWriter, _ *http.Request) {
	h := a.Health()
	status := http.StatusOK
	if h.Status == "unavailable" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
