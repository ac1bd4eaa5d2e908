"""inline_server.py - the HTTP/1.1 server of test_inline.sh, run in the
server's network namespace by Debian's python3:

    inline_server.py ADDR PORT DIR

Connections stay open between requests (keep-alive), so one connection
carries several requests, as the test of changed lengths needs. GET /echo
answers with the request's header lines as the server received them;
GET /NAME with the bytes of the file DIR/NAME; anything else is a 404.
Every answer has a Content-Length. Each request is logged on stderr,
after the client's address and port as the server saw them.
"""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/echo":
            body = str(self.headers).encode("latin-1")
        else:
            name = self.path[1:]
            path = os.path.join(self.server.dir, name)
            if "/" in name or not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as f:
                body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        # The client as the server saw it (ADDR:PORT), then the request.
        sys.stderr.write("%s:%d %s\n" % (self.client_address[0],
                                          self.client_address[1],
                                          fmt % args))


def main():
    addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = http.server.ThreadingHTTPServer((addr, port), Handler)
    server.dir = root
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
