"""t_audit.py: a reviewer that hides its reports. With the reviewer's own
keys (its daemon stopped), it speaks the sync protocol (docs/protocol.md)
to the relay with pyzmq and gpg alone and fetches one bundle, and then,
unlike mrxd, writes no bundle-fetched anywhere. Its FETCH must carry a
request it signed (docs/protocol.md section 6): one signed by a key the
relay does not hold is refused; its own is taken, and the relay, honest,
keeps it with its record that it served the bundle.

Usage: python3 t_audit.py ENDPOINT SERVER_KEY REVIEWER_HOME CASE BUNDLE SIZE
                          REVIEWER_FPR RELAY_FPR STRANGER_GNUPGHOME STRANGER_FPR
Prints "PASS ..." or "FAIL ...: why" per check.
"""
import hashlib
import os
import struct
import subprocess
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mrxpeer import TAG, check, u64, dealer  # noqa: E402

endpoint, server_key, home, case, bundle, size, fpr, relay, other_home, other_fpr = sys.argv[1:11]
size = int(size)


def request(gnupghome, signer, asked=None, offset=0):
    """The request of docs/protocol.md section 6, clear-signed by gpg."""
    body = ("mrx-request: 1\ncase: %s\nbundle: %s\nfrom: %s\nby: %s\noffset: %d\ntime: %s\n"
            % (case, asked or bundle, relay, fpr, offset,
               time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    return subprocess.run(["gpg", "--homedir", gnupghome, "--batch", "--quiet", "--clearsign",
                           "--local-user", signer], input=body.encode(), check=True,
                          capture_output=True).stdout


secret = open(home + "/curve.secret").read().strip().encode()
cert = open(home + "/node.cert").read().encode()
ctx = zmq.Context()
s = dealer(ctx, endpoint, server_key, zmq.curve_public(secret), secret, 120000)

# requests the relay must refuse, each with a FETCH of the bundle from 0
bad = [
    # in another's name: it says "by" the reviewer, who did not sign it
    ("another key signed", request(other_home, other_fpr)),
    ("names another bundle", request(home + "/gnupg", fpr, asked="f" * 64)),
    ("asks from another offset", request(home + "/gnupg", fpr, offset=262144)),
]
s.send_multipart([TAG, b"HELLO", cert])
data = {}
greeted = asked = False
try:
    while sum(len(d) for d in data.values()) < size:
        m = s.recv_multipart()
        cmd = m[1]
        if cmd == b"HELLO" and not greeted:
            greeted = True
            s.send_multipart([TAG, b"FETCH", case.encode(), bundle.encode(), u64(0), u64(64),
                              bad[0][1]])
        elif cmd == b"ERROR" and not asked:
            check("a FETCH whose request %s is refused (code 3)" % bad[0][0],
                  struct.unpack(">Q", m[3])[0] == 3 and m[2] == b"FETCH", m)
            bad.pop(0)
            s.send_multipart([TAG, b"FETCH", case.encode(), bundle.encode(), u64(0), u64(64),
                              bad[0][1] if bad else request(home + "/gnupg", fpr)])
            asked = not bad
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
