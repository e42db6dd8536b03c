"""t_audit.py: a reviewer that hides its reports. With the reviewer's own
keys (its daemon stopped), it speaks the sync protocol (docs/protocol.md)
to the relay with pyzmq alone and fetches one bundle, and then, unlike
mrxd, writes no bundle-fetched anywhere. The relay, honest, records that
it served it.

Usage: python3 t_audit.py ENDPOINT SERVER_KEY REVIEWER_HOME CASE BUNDLE SIZE
Prints "PASS ..." or "FAIL ...: why" per check.
"""
import hashlib
import os
import struct
import sys

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mrxpeer import TAG, check, u64, dealer  # noqa: E402

endpoint, server_key, home, case, bundle, size = sys.argv[1:7]
size = int(size)

secret = open(home + "/curve.secret").read().strip().encode()
cert = open(home + "/node.cert").read().encode()
ctx = zmq.Context()
s = dealer(ctx, endpoint, server_key, zmq.curve_public(secret), secret, 120000)

s.send_multipart([TAG, b"HELLO", cert])
data = {}
greeted = asked = False
try:
    while sum(len(d) for d in data.values()) < size:
        m = s.recv_multipart()
        cmd = m[1]
        if cmd == b"HELLO" and not greeted:
            greeted = True
            s.send_multipart([TAG, b"FETCH", case.encode(), bundle.encode(), u64(0), u64(64)])
            asked = True
        elif cmd == b"CASES":
            s.send_multipart([TAG, b"CASES-OK", u64(0)])  # it learns nothing from us
        elif cmd == b"CHUNK" and m[3] == bundle.encode():
            data[struct.unpack(">Q", m[4])[0]] = m[5]
        elif cmd == b"ERROR":
            check("the relay serves the bundle", False, m)
            sys.exit(0)
except zmq.Again:
    pass
got = b"".join(data[k] for k in sorted(data))
check("the hiding reviewer fetched the bundle from the relay (%d bytes, its hash is its id)" % len(got),
      asked and len(got) == size and hashlib.sha256(got).hexdigest() == bundle,
      "asked %s, %d of %d bytes" % (asked, len(got), size))
s.close()
ctx.term()
