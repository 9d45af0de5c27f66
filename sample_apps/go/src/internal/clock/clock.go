// Package clock renders a moment in a named IANA time zone.
//
// Zone rules come from the system's zoneinfo (/usr/share/zoneinfo, the tzdata
// package) or, in images without one, from the copy embedded with the
// build tag timetzdata.
package clock

import (
	"fmt"
	"time"
)

// Reading is what GET /time answers.
type Reading struct {
	Zone   string `json:"zone"`
	Time   string `json:"time"`
	Offset int    `json:"utc_offset_seconds"`
}

// In returns t as seen in zone; an empty zone means UTC.
func In(t time.Time, zone string) (Reading, error) {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Reading{}, fmt.Errorf("unknown time zone %q", zone)
	}
	local := t.In(loc)
	_, offset := local.Zone()
	return Reading{Zone: zone, Time: local.Format(time.RFC3339), Offset: offset}, nil
}
