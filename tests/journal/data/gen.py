import sys, socket, struct
w = sys.stdout.buffer.write
w(b"hello world\n<3>an error\n  lead and trail   \n   \n\n<5>\nx\x1b[31mred\x1b[0m\n")
w(b"nul\x00after\ninv\xffutf\n" + b"A"*50000 + b"\n<8>eight\n<07>seven\n<007>x\n<0007>y\ncr\r\n\ttab-lead\n")
sys.stdout.flush()
msg = b"line1\nline2\n  line3"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"MESSAGE\n" + struct.pack("<Q", len(msg)) + msg + b"\nSYSLOG_IDENTIFIER=multi\nPRIORITY=6\n", "/run/systemd/journal/socket")
msg = b"trailing-nl\n"
s.sendto(b"MESSAGE\n" + struct.pack("<Q", len(msg)) + msg + b"\nSYSLOG_IDENTIFIER=multi\nPRIORITY=3\n", "/run/systemd/journal/socket")
w(b"tail-no-newline")
