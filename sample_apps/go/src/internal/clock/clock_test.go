package clock

import (
	"testing"
	"time"
)

func TestInKnownZone(t *testing.T) {
	moment := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	got, err := In(moment, "Europe/Berlin")
	if err != nil {
		t.Fatalf("In: %v", err)
	}
	if got.Offset != 2*3600 || got.Time != "2024-07-01T14:00:00+02:00" {
		t.Fatalf("got %+v, want Berlin summer time", got)
	}
}

func TestInEmptyZoneIsUTC(t *testing.T) {
	got, err := In(time.Unix(0, 0), "")
	if err != nil || got.Zone != "UTC" || got.Offset != 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestInUnknownZone(t *testing.T) {
	if _, err := In(time.Now(), "Mars/Olympus_Mons"); err == nil {
		t.Fatal("want an error for an unknown zone")
	}
}
