"""inotify observer for the pickup-latency measurement (runs as its own process).

Usage: observe.py DIR OUTFILE
Watches DIR for IN_CREATE and stamps every new name with CLOCK_MONOTONIC (ns) the moment
read(2) returns. Prints READY once the watch is in place. Stops when a file named `__stop`
is created, then writes "name ns" lines to OUTFILE.

Why not the files' mtime: on this machine (HZ=250) file timestamps are coarse, they advance in
4 ms steps and lag the real clock by up to 4 ms, which is as large as the 3 ms target itself.
CLOCK_MONOTONIC is system-wide, so the harness's time.monotonic_ns() around the rename is
comparable with it. Observation adds the inotify wake-up (~0.15 ms p50 on this machine) to
both gadugi's and the floor's numbers alike.
"""

import ctypes
import os
import struct
import sys
import time

IN_CREATE = 0x00000100
IN_CLOEXEC = 0o2000000


def main():
    d, outfile = sys.argv[1], sys.argv[2]
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(IN_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    if libc.inotify_add_watch(fd, d.encode(), IN_CREATE) < 0:
        raise OSError(ctypes.get_errno(), "inotify_add_watch")
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    seen = []
    mono = time.monotonic_ns
    hdr = struct.Struct("iIII")
    done = False
    while not done:
        buf = os.read(fd, 65536)
        t = mono()
        off = 0
        while off < len(buf):
            _wd, _mask, _cookie, ln = hdr.unpack_from(buf, off)
            name = buf[off + 16: off + 16 + ln].split(b"\0", 1)[0].decode()
            off += 16 + ln
            if name == "__stop":
                done = True
            elif name:
                seen.append((name, t))
    with open(outfile, "w") as f:
        for name, t in seen:
            f.write(f"{name} {t}\n")


if __name__ == "__main__":
    main()
