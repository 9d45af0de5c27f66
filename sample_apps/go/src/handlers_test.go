package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func serve(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	fixed := func() time.Time { return time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC) }
	rec := httptest.NewRecorder()
	newMux("go", "1.2.3", fixed).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHealthz(t *testing.T) {
	rec := serve(t, "/healthz")
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}

func TestRootReportsNameAndVersion(t *testing.T) {
	rec := serve(t, "/")
	var got info
	if err := json.NewDecoder(rec.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK || got != (info{App: "go", Version: "1.2.3"}) {
		t.Fatalf("got %d %+v", rec.Code, got)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	if rec := serve(t, "/nope"); rec.Code != http.StatusNotFound {
		t.Fatalf("got %d", rec.Code)
	}
}

func TestTimeInZone(t *testing.T) {
	rec := serve(t, "/time?tz=America/New_York")
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
	var got map[string]any
	_ = json.NewDecoder(rec.Body).Decode(&got)
	if got["time"] != "2024-01-15T04:30:00-05:00" {
		t.Fatalf("got %v", got)
	}
}

func TestTimeUnknownZoneIs400(t *testing.T) {
	if rec := serve(t, "/time?tz=Nowhere/Land"); rec.Code != http.StatusBadRequest {
		t.Fatalf("got %d", rec.Code)
	}
}
