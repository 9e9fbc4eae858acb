#!/usr/bin/env python3
"""make bench: the full default runbook (report included) against the local
expired fixture vs the manual two-process check, on the same fixture.

Prints both medians, their ratio and triage's peak RSS. Run inside the
loopback-only namespace (scripts/in-netns.sh) with a release build.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import demo_upstream

RUNS = int(os.environ.get("BENCH_RUNS", "30"))
triage = sys.argv[1] if len(sys.argv) > 1 else ".build/release/triage"

server, facts = demo_upstream.start(triage, "bench")

port, host, ca_file, url = facts["port"], facts["host"], facts["ca_file"], facts["url"]
out = tempfile.mkdtemp(prefix="triage-bench-")


def timed(argv, **kwargs):
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, **kwargs)
    _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss


manual = ["sh", "-c", f"openssl s_client -connect 127.0.0.1:{port} -servername {host} </dev/null 2>/dev/null"
                      f" | openssl x509 -noout -dates"]
devnull = os.open(os.devnull, os.O_WRONLY)
actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]

triage_times, manual_times, rss = [], [], []
try:
    for i in range(RUNS + 2):  # two warm-up rounds, not counted
        argv = [triage, "run", url, "--set", "addresses=127.0.0.1", "--ca-file", ca_file, "--out", f"{out}/{i}"]
        t, code, maxrss = timed(argv, file_actions=actions)
        if code != 1:
            sys.exit(f"bench: triage exited {code}, expected 1 (cert-expired)")
        m, mcode, _ = timed(manual, file_actions=actions)
        if i >= 2:
            triage_times.append(t)
            manual_times.append(m)
            rss.append(maxrss)
finally:
    server.terminate()
    server.wait()

t_med = statistics.median(triage_times) * 1000
m_med = statistics.median(manual_times) * 1000
print(f"runs:                        {RUNS}")
print(f"triage run (default runbook, 2 handshakes, x509, report): median {t_med:.1f} ms "
      f"(min {min(triage_times) * 1000:.1f}, max {max(triage_times) * 1000:.1f})")
print(f"openssl s_client | openssl x509 -noout -dates:            median {m_med:.1f} ms "
      f"(min {min(manual_times) * 1000:.1f}, max {max(manual_times) * 1000:.1f})")
print(f"ratio triage / manual:       {t_med / m_med:.2f}  (target <= 1.0)")
print(f"triage peak RSS:             {max(rss) / 1024:.1f} MB  (target <= 35 MB)")
