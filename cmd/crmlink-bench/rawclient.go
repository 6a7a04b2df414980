package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// rawClient is the load generator's HTTP/1.1 client: one kept-alive
// connection, each request written and its answer read by hand. Go's
// http.Client costs about twice the CPU a request, and on two shared cores
// what the load generator spends the server does not get; wrk, with which
// GoatCounter was measured, is as lean. The requests are what a browser
// sends; the answers are read whole: status, headers, and a body by
// Content-Length or chunks. It is kept beside --loader wrk because it
// reads the answer of every hit it sent, those in flight at --duration
// too, so that accepted = stored is checked exactly and fact by fact
// (page views, goals, purchases, identities), where wrk leaves the hits in
// flight at its stop uncounted and sends no identities.
type rawClient struct {
	addr    string // host:port, also the Host header
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
	buf     []byte
}

func newRawClient(addr string, timeout time.Duration) *rawClient {
	return &rawClient{addr: addr, timeout: timeout}
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

// do sends one request and returns the answer's status. headers are
// name-value pairs.
func (c *rawClient) do(method, target string, headers []string, body []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 4096)
	}
	code, err := c.roundTrip(method, target, headers, body)
	if err != nil {
		c.close()
	}
	return code, err
}

func (c *rawClient) roundTrip(method, target string, headers []string, body []byte) (int, error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	b := c.buf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.addr...)
	b = append(b, "\r\n"...)
	for i := 0; i+1 < len(headers); i += 2 {
		b = append(b, headers[i]...)
		b = append(b, ": "...)
		b = append(b, headers[i+1]...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.buf = b
	if _, err := c.conn.Write(b); err != nil {
		return 0, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 204 No Content"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("bad header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		if err := c.skipChunks(); err != nil {
			return 0, err
		}
	case length > 0:
		if _, err := c.br.Discard(length); err != nil {
			return 0, err
		}
	case length < 0 && code != 204 && code != 304 && code >= 200:
		return 0, errors.New("an answer with neither a length nor chunks")
	}
	if closing {
		c.close()
	}
	return code, nil
}

func (c *rawClient) skipChunks() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if _, err := c.br.Discard(int(n) + 2); err != nil { // the chunk and its CRLF
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
