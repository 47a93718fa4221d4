package httpx

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Proxies is the set of trusted proxies (PLATFORM_TRUSTED_PROXIES).
type Proxies struct{ prefixes []netip.Prefix }

// ParseProxies reads addresses and CIDR prefixes.
func ParseProxies(list []string) (Proxies, error) {
	var p Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if pre, err := netip.ParsePrefix(s); err == nil {
			p.prefixes = append(p.prefixes, pre.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR prefix", s)
		}
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return p, nil
}

func (p Proxies) contains(a netip.Addr) bool {
	if len(p.prefixes) == 0 {
		return false
	}
	a = a.Unmap()
	for _, pre := range p.prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// peer returns the address of the connection's other end and whether it
// is a trusted proxy.
func (p Proxies) peer(c *fiber.Ctx) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return a, false
	}
	a = a.Unmap()
	return a, p.contains(a)
}

// ClientIP returns the address of the client: the peer, unless the peer
// is a trusted proxy; then the X-Forwarded-For chain is read from the
// right, past trusted proxies, to the first address none of them is — the
// part a client can forge is left of that. (Fiber's ProxyHeader would take
// the leftmost address, which the client writes.)
func ClientIP(c *fiber.Ctx, p Proxies) string {
	peer, trusted := p.peer(c)
	if !peer.IsValid() {
		return c.Context().RemoteIP().String()
	}
	if !trusted {
		return peer.String()
	}
	var hops []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		hops = append(hops, strings.Split(string(v), ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil || a.Zone() != "" {
			break // a malformed hop: trust nothing left of it
		}
		client = a.Unmap()
		if !p.contains(client) {
			break
		}
	}
	return client.String()
}

// strings lists the prefixes as Fiber's TrustedProxies.
func (p Proxies) strings() []string {
	out := make([]string, len(p.prefixes))
	for i, pre := range p.prefixes {
		out[i] = pre.String()
	}
	return out
}
