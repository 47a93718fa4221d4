package router

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
	a = a.Unmap()
	for _, pre := range p.prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client: the peer, unless the peer
// is a trusted proxy; then the X-Forwarded-For chain is read from the
// right, past trusted proxies, to the first address none of them is — the
// part a client can forge is left of that. (Fiber's ProxyHeader would take
// the leftmost address, which the client writes.)
func ClientIP(c *fiber.Ctx, p Proxies) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.Context().RemoteIP().String()
	}
	peer = peer.Unmap()
	if !p.contains(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		hops = append(hops, strings.Split(string(v), ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing left of it
		}
		client = a.Unmap()
		if !p.contains(client) {
			break
		}
	}
	return client.String()
}
