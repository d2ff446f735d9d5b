package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrRefused is the error of a delivery whose address the Guard refuses.
var ErrRefused = errors.New("webhook: address not allowed")

// Link-local and cloud metadata addresses, and the unspecified ones (which
// reach this host): refused unless an IP or CIDR entry of the allowlist
// names them. A receiver URL is chosen by whoever submits a job; these
// would let them read the host's cloud credentials.
var refusedByDefault = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("0.0.0.0/32"),
	netip.MustParsePrefix("::/128"),
}

// Guard decides where deliveries may connect (FOREMAN_WEBHOOK_ALLOW). It is
// checked against the address actually dialled, after name resolution,
// redirects being never followed: a name on the list may resolve to any
// address but a refused one; an IP literal in a URL, in whatever form
// (::ffff:127.0.0.1), must fall in an IP or CIDR entry. The zero Guard
// (no list) allows any address but the refused ones.
type Guard struct {
	names    map[string]bool
	prefixes []netip.Prefix
}

// ParseAllow reads allowlist entries: host names, IP addresses and CIDR
// prefixes.
func ParseAllow(entries []string) (*Guard, error) {
	g := &Guard{names: map[string]bool{}}
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("allowlist entry %q: not a CIDR prefix", e)
			}
			g.prefixes = append(g.prefixes, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
		default:
			if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				a = a.Unmap()
				g.prefixes = append(g.prefixes, netip.PrefixFrom(a, a.BitLen()))
			} else {
				g.names[e] = true
			}
		}
	}
	return g, nil
}

func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

func (g *Guard) listed() bool { return g != nil && (len(g.names) > 0 || len(g.prefixes) > 0) }

func (g *Guard) inPrefixes(a netip.Addr) bool {
	if g == nil {
		return false
	}
	for _, p := range g.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AllowsHost is the check at submission, on the URL's host alone: a name
// on the list, or an IP literal the list covers; with no list, anything
// but a refused IP literal. Delivery checks the dialled address again.
func (g *Guard) AllowsHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if a, err := netip.ParseAddr(host); err == nil {
		return g.allowsAddr(host, a.WithZone("")) == nil
	}
	return !g.listed() || g.names[host]
}

// allowsAddr checks one dial: host as the URL named it, a the address.
func (g *Guard) allowsAddr(host string, a netip.Addr) error {
	a = a.Unmap()
	covered := g.inPrefixes(a)
	if !covered {
		for _, p := range refusedByDefault {
			if p.Contains(a) {
				return fmt.Errorf("%w: %s is link-local, metadata or unspecified", ErrRefused, a)
			}
		}
	}
	if g.listed() && !covered && !g.names[strings.ToLower(host)] {
		return fmt.Errorf("%w: %s (%s) is not on the allowlist", ErrRefused, host, a)
	}
	return nil
}

// dialer returns a dial function that checks every address it connects
// to, as the kernel is given it (Control runs after resolution, for each
// address tried).
func (g *Guard) dialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		dd := *d
		dd.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrRefused, address)
			}
			return g.allowsAddr(host, ap.Addr())
		}
		return dd.DialContext(ctx, network, addr)
	}
}
