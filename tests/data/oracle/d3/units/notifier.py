"""Scripted sd_notify client: argv = steps `sleep:S`, `send:K=V;K=V`, `exit:N`, `hup-reload`, `hang`."""
import os, signal, socket, sys, time

addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)


def send(text):
    sock.sendto(text.replace(";", "\n").encode(), addr)


def on_hup(*_):
    send(f"RELOADING=1;MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
    time.sleep(0.2)
    send("READY=1")


for step in sys.argv[1:]:
    kind, _, arg = step.partition(":")
    if kind == "sleep":
        time.sleep(float(arg))
    elif kind == "send":
        send(arg)
    elif kind == "exit":
        sys.exit(int(arg))
    elif kind == "hup-reload":
        signal.signal(signal.SIGHUP, on_hup)
    elif kind == "hang":
        while True:
            time.sleep(1000)
