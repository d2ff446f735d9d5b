package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/foreman-dev/foreman/eventlog"
)

// The JSON rendering of events lives in eventlog (eventlog/json.go), shared
// with the HTTP API; this file adds the human rendering (dump, job) over the
// same ordered fields, so the two never disagree. docs/export-format.md
// documents the JSON side.

// fields is a rendered payload; it marshals as eventlog.Fields does.
type fields eventlog.Fields

// MarshalJSON writes the fields as one object, keys in order.
func (fs fields) MarshalJSON() ([]byte, error) { return eventlog.Fields(fs).MarshalJSON() }

// renderPayload is eventlog.PayloadFields.
func renderPayload(e eventlog.Event) (fields, error) {
	fs, err := eventlog.PayloadFields(e)
	return fields(fs), err
}

// exportRecord is one line of `foreman log export` and `dump --json`.
type exportRecord = eventlog.EventJSON

func newExportRecord(e eventlog.Event, payload fields) exportRecord {
	return eventlog.NewEventJSON(e, eventlog.Fields(payload))
}

// hexBytes is a digest: hex in JSON, abbreviated for humans.
type hexBytes = eventlog.HexBytes

func redactURL(s string) string { return eventlog.RedactURL(s) }

func blobName(k string) string { return eventlog.BlobName(k) }

// human renders the non-zero fields as space-separated key=value pairs.
func (fs fields) human() string {
	var parts []string
	for _, f := range fs {
		if f.JSONOnly || f.Value == nil || reflect.ValueOf(f.Value).IsZero() {
			continue
		}
		parts = append(parts, f.Key+"="+humanValue(f.Value))
	}
	return strings.Join(parts, " ")
}

func humanValue(v any) string {
	switch v := v.(type) {
	case fmt.Stringer:
		return v.String()
	case string:
		return quoteIfNeeded(v)
	case bool, int, int64, uint64, uint8:
		return fmt.Sprint(v)
	}
	b, err := eventlog.MarshalCompact(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// quoteIfNeeded leaves a plain word as is and quotes anything else, so that
// key=value pairs stay unambiguous.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '=' || r == '\\' || r == utf8.RuneError || r > '~'
	}) {
		return strconv.Quote(s)
	}
	return s
}

// newJSONLines returns an encoder writing one compact object per line.
func newJSONLines(o output) *json.Encoder {
	enc := json.NewEncoder(o)
	enc.SetEscapeHTML(false)
	return enc
}
