package remote

import (
	"context"
	"fmt"
	"net"
)

// DialContext opens a TCP connection from the node to addr through the
// node's verified SSH connection (a direct-tcpip channel): kprov reaches
// the API server this way, with no port open beyond SSH.
func (n *Conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := n.connect(ctx)
	if err != nil {
		return nil, n.wrap(err)
	}
	conn, err := c.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: tunnel to %s: %w", n.t.Name, addr, err)
	}
	return conn, nil
}
