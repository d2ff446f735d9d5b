package ship

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/foreman-dev/foreman/eventlog"
)

// Subject is where an event of node is published:
// foreman.<node>.<event type> (a type such as job.succeeded adds a token).
func Subject(node string, t eventlog.Type) string {
	return SubjectPrefix + "." + node + "." + string(t)
}

// NodeFilter is the subject filter of every event of node; "" or "*":
// every node.
func NodeFilter(node string) string {
	if node == "" {
		node = "*"
	}
	return SubjectPrefix + "." + node + ".>"
}

// NodeOf returns the node token of a subject published by a shipper.
func NodeOf(subject string) string {
	rest, ok := strings.CutPrefix(subject, SubjectPrefix+".")
	if !ok {
		return ""
	}
	node, _, _ := strings.Cut(rest, ".")
	return node
}

// MsgID is the Nats-Msg-Id of an event: <node>/<offset>. JetStream drops a
// message whose id it has seen within the stream's duplicate window, which
// makes a re-sent window harmless.
func MsgID(node string, off uint64) string {
	return node + "/" + strconv.FormatUint(off, 10)
}

// ParseMsgID is the inverse of MsgID.
func ParseMsgID(id string) (node string, off uint64, err error) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 {
		return "", 0, fmt.Errorf("ship: message id %q: want <node>/<offset>", id)
	}
	off, err = strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || off == 0 {
		return "", 0, fmt.Errorf("ship: message id %q: want <node>/<offset>", id)
	}
	return id[:i], off, nil
}
