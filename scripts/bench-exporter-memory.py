#!/usr/bin/env python3
"""make bench: the exporter's resident set and descriptors before and after bursts.

A silent target (accepts, never answers) and the demo upstream by address
(no SNI, so each handshake ends in its alert 80: a probe that completes a TLS
exchange and fails); the exporter is scraped as Prometheus would, BENCH_BURST
requests: a burst of silent probes from BENCH_CLIENTS clients at once (1 s
scrape timeout), one of alert-80 probes from 64, and a second silent one. Prints the resident set
(anonymous and file-backed) and open descriptors at start, after a few
scrapes (the code the probes use paged in), at the burst's peak, 2.5 s after
each burst and 14 s after the last (past the idle threads' exit and the
exporter's second release of free memory). Run inside the loopback-only
namespace (scripts/in-netns.sh) with a release build.
"""
import concurrent.futures as cf
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import demo_upstream

triage = sys.argv[1] if len(sys.argv) > 1 else ".build/release/triage"
BURST = int(os.environ.get("BENCH_BURST", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))

silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(4096)
held = []


def accept_and_hold():
    while True:
        connection, _ = silent.accept()
        held.append(connection)


threading.Thread(target=accept_and_hold, daemon=True).start()
silent_target = f"127.0.0.1:{silent.getsockname()[1]}"

demo, facts = demo_upstream.start(triage, "bench")
alert_target = f"127.0.0.1:{facts['port']}"

probe_listener = socket.socket()
probe_listener.bind(("127.0.0.1", 0))
port = probe_listener.getsockname()[1]
probe_listener.close()
exporter = subprocess.Popen([triage, "exporter", "--listen", f"127.0.0.1:{port}", "--ca-file", facts["ca_file"]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 30
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)


def state():
    fields = {}
    with open(f"/proc/{exporter.pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    fields["fds"] = len(os.listdir(f"/proc/{exporter.pid}/fd"))
    return fields


def show(label, s, base=None):
    delta = f"  ({s['VmRSS'] - base['VmRSS']:+.1f} MB, {s['fds'] - base['fds']:+d} fds)" if base else ""
    print(f"  {label:34s} RSS {s['VmRSS']:5.1f} MB (anon {s['RssAnon']:4.1f}, file {s['RssFile']:4.1f}), "
          f"{s['fds']:3d} fds{delta}")


def probe(target, timeout):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/probe?target={target}",
                                     headers={"X-Prometheus-Scrape-Timeout-Seconds": timeout})
    try:
        return urllib.request.urlopen(request, timeout=60).status
    except urllib.error.HTTPError as answer:  # a 503: the probe dropped, its deadline passed in the queue
        return answer.code
    except OSError:
        return 0


def burst(target, timeout, clients):
    peak = {"VmRSS": 0.0}
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            now = state()
            if now["VmRSS"] > peak["VmRSS"]:
                peak = now
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with cf.ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda _: probe(target, timeout), range(BURST)))
    stop.set()
    watcher.join()
    return statuses, peak


try:
    print(f"exporter memory: bursts of {BURST} scrapes (silent target: {CLIENTS} clients at once, 1 s scrape timeout; alert-80 target: 64)")
    start = state()
    show("at start", start)
    for _ in range(5):
        probe(alert_target, "5")
    probe(silent_target, "1")
    time.sleep(1.5)
    warm = state()
    show("after 6 scrapes", warm, start)
    for name, target, timeout, clients in [("silent", silent_target, "1", CLIENTS),
                                          ("alert-80", alert_target, "5", min(CLIENTS, 64)),
                                          ("silent, again", silent_target, "1", CLIENTS)]:
        statuses, peak = burst(target, timeout, clients)
        answered = sum(1 for s in statuses if s == 200)
        dropped = sum(1 for s in statuses if s == 503)
        print(f"  {name} burst: {answered} answered, {dropped} dropped (503), {len(statuses) - answered - dropped} unanswered")
        show(f"{name} burst: peak", peak, start)
        time.sleep(2.5)
        show(f"{name} burst: 2.5 s after", state(), start)
    time.sleep(11.5)
    end = state()
    show("14 s after the last burst", end, start)
    print(f"  after the bursts: {end['VmRSS'] - start['VmRSS']:+.1f} MB from the start, "
          f"{end['VmRSS'] - warm['VmRSS']:+.1f} MB from after the first scrapes (target within 10 MB); "
          f"descriptors {end['fds'] - start['fds']:+d} / {end['fds'] - warm['fds']:+d}")
finally:
    exporter.terminate()
    demo.terminate()
    exporter.wait()
    demo.wait()
