# Serial line reading shared by the backends: frames are lines of at most max_len bytes.
import os


def lines(read_byte_chunk, max_len):
    # Generator of complete lines (bytes, no LF); None for a line that was too long (dropped).
    buf = bytearray()
    over = False
    while True:
        chunk = read_byte_chunk()
        if not chunk:
            continue
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                buf.extend(chunk[start:])
                if len(buf) > max_len:
                    buf = bytearray()
                    over = True
                break
            buf.extend(chunk[start:nl])
            start = nl + 1
            if over or len(buf) > max_len:
                yield None
            else:
                yield bytes(buf)
            buf = bytearray()
            over = False


def fs_free(path="/"):
    st = os.statvfs(path)
    return st[0] * st[3]
