#!/usr/bin/env python3
# strip_fileattr.py IN OUT: IN without the FILEATTR commands btrsend adds
# just before the END of a full stream (docs/architecture.md, "Inode flags
# in full sends"); prints how many it took out.  A kernel full stream has
# no FILEATTR, so what precedes END there is ours.
import struct
import sys

b = open(sys.argv[1], 'rb').read()
out, pos, n, cmds = bytearray(), 0, 0, []


def flush(cmds):
    global n
    full = cmds and cmds[0][0] == 1             # SUBVOL: a full stream
    i = len(cmds) - 1                           # the END
    while full and i > 0 and cmds[i - 1][0] == 24:
        i -= 1
    n += len(cmds) - 1 - i
    for t, raw in cmds[:i] + cmds[-1:]:
        out.extend(raw)


while pos < len(b):
    if not cmds:
        out.extend(b[pos:pos + 17])
        pos += 17
    ln, t = struct.unpack_from('<IH', b, pos)
    cmds.append((t, b[pos:pos + 10 + ln]))
    pos += 10 + ln
    if t == 21:
        flush(cmds)
        cmds = []
open(sys.argv[2], 'wb').write(out)
print(n)
