#!/usr/bin/env python3
"""make bench, fleet under load, inside the loopback-only namespace:

1. `triage exporter` beside Debian's prometheus-blackbox-exporter on the same
   200 TLS endpoints (one nginx, an ECDSA P-256 leaf and then an RSA-2048 one,
   session tickets off; with RSA nginx's own signing caps both), the
   same concurrency (32 clients, exporter concurrency 32) and the same work:
   one TLS handshake per probe, no HTTP (triage: a module with
   `sni_variants: false`; blackbox: the `tcp` prober with `tls: true`).
   Prints probes/s, p50 and p99 latency and the ratio (target >= 1.5), the CPU
   nginx and the load generator spent per probe (the three share the cores),
   and libssl's own cost for the same handshake (a C client, the floor).
2. `triage scan` over 100,000 targets (98,000 refused, 2,000 TLS): peak RSS
   (target <= 64 MB) and rate.
3. Start-up: `triage --version` and `triage explain 80` against a static
   Swift hello-world (target <= 3x).
"""
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

triage = sys.argv[1] if len(sys.argv) > 1 else ".build/release/triage"
ENDPOINTS = int(os.environ.get("BENCH_ENDPOINTS", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
PROBES = int(os.environ.get("BENCH_PROBES", "6000"))
work = tempfile.mkdtemp(prefix="triage-exporter-bench-")


def sh(command):
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_port(port, seconds=20):
    import socket
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# --- 200 TLS endpoints ----------------------------------------------------------
KEY = os.environ.get("BENCH_KEY", "ec")
newkey = "ec -pkeyopt ec_paramgen_curve:P-256" if KEY == "ec" else "rsa:2048"
sh(f"cd {work} && openssl req -x509 -newkey {newkey} -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=bench CA'"
   f" && openssl req -newkey {newkey} -nodes -keyout leaf.key -out leaf.csr -subj '/CN=localhost'"
   f" && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf"
   f" && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30 -extfile ext.cnf")
base = 30000
listens = "\n".join(f"        listen 127.0.0.1:{base + i} ssl;" for i in range(ENDPOINTS))
with open(f"{work}/nginx.conf", "w") as f:
    f.write(f"""
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log crit;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {work}/cb; proxy_temp_path {work}/px; fastcgi_temp_path {work}/fc; uwsgi_temp_path {work}/uw; scgi_temp_path {work}/sc;
    ssl_certificate {work}/leaf.pem;
    ssl_certificate_key {work}/leaf.key;
    ssl_session_tickets off;
    ssl_session_cache off;
    server {{
{listens}
        location / {{ return 200 'ok'; }}
    }}
}}
""")
nginx = subprocess.Popen(["nginx", "-p", work, "-c", f"{work}/nginx.conf"], stderr=subprocess.DEVNULL)
assert wait_port(base), "nginx did not start"

# --- the two exporters ----------------------------------------------------------
with open(f"{work}/triage.yaml", "w") as f:
    f.write(f"modules:\n  tls:\n    sni_variants: false\n    timeout: 5s\n    ca_file: {work}/ca.pem\n")
with open(f"{work}/blackbox.yaml", "w") as f:
    f.write(f"modules:\n  tls:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      tls: true\n      tls_config:\n        ca_file: {work}/ca.pem\n")
TRIAGE_PORT, BLACKBOX_PORT = 19219, 19115
exporters = {
    "triage exporter": (subprocess.Popen([triage, "exporter", "--listen", f"127.0.0.1:{TRIAGE_PORT}", "--config", f"{work}/triage.yaml",
                                          "--concurrency", str(CLIENTS)], stderr=subprocess.DEVNULL), TRIAGE_PORT),
    "blackbox_exporter": (subprocess.Popen(["prometheus-blackbox-exporter", f"--config.file={work}/blackbox.yaml",
                                            f"--web.listen-address=127.0.0.1:{BLACKBOX_PORT}"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), BLACKBOX_PORT),
}
# BENCH_VERSUS=PATH: another triage binary in blackbox_exporter's place (an A/B of two builds: same load, same turns).
if os.environ.get("BENCH_VERSUS"):
    exporters["blackbox_exporter"][0].terminate()
    exporters["blackbox_exporter"][0].wait()
    exporters["blackbox_exporter"] = (subprocess.Popen([os.environ["BENCH_VERSUS"], "exporter", "--listen", f"127.0.0.1:{BLACKBOX_PORT}",
                                                        "--config", f"{work}/triage.yaml", "--concurrency", str(CLIENTS)],
                                                       stderr=subprocess.DEVNULL), BLACKBOX_PORT)
for name, (_, port) in exporters.items():
    assert wait_port(port), f"{name} did not start"


def cpu_seconds(pid):
    """User + system CPU time a process has used (from /proc/PID/stat, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nginx_workers():
    """The pids of nginx's workers (children of the master this script started)."""
    workers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == nginx.pid:
                        workers.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return workers


def load(port, pid):
    """CLIENTS keep-alive connections driven by asyncio (a light client: the exporters, not the
    load generator, set the pace), PROBES probes over the endpoints in turn; the exporter's CPU too,
    and what nginx and this load generator spent on the same probes (the three share the cores)."""
    import asyncio
    latencies, failures = [], [0]
    counter = [0]

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            i = counter[0]
            counter[0] += 1
            if i >= PROBES:
                break
            target = f"localhost:{base + i % ENDPOINTS}"
            start = time.perf_counter()
            writer.write(f"GET /probe?target={target}&module=tls HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if b"\nprobe_success 1" not in b"\n" + body:
                failures[0] += 1
        writer.close()

    async def main():
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))

    workers = nginx_workers()
    cpu, server_cpu, own_cpu = cpu_seconds(pid), sum(map(cpu_seconds, workers)), time.process_time()
    start = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu
    server_cpu = sum(map(cpu_seconds, workers)) - server_cpu
    own_cpu = time.process_time() - own_cpu
    latencies.sort()
    return (PROBES / wall, latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000, failures[0],
            cpu / PROBES * 1000, server_cpu / PROBES * 1000, own_cpu / PROBES * 1000)


# The machine's cores are shared and either exporter's figure moves by a quarter between runs:
# the two take turns, ROUNDS times, and the median of each is compared (the range is shown too).
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
for name, (process, port) in exporters.items():
    load(port, process.pid)  # warm-up pass: caches, connections, page cache
runs = {name: [] for name in exporters}
for _ in range(ROUNDS):
    for name, (process, port) in exporters.items():
        runs[name].append(load(port, process.pid))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


print(f"exporter benchmark ({'ECDSA P-256' if KEY == 'ec' else 'RSA-2048'} leaf): {ENDPOINTS} TLS endpoints, {CLIENTS} clients, "
      f"{PROBES} probes per run, {ROUNDS} alternating runs each (one TLS handshake per probe, no HTTP); medians")
results = {}
for name, rounds in runs.items():
    rate, p50, p99, cpu, server, client = (median([r[i] for r in rounds]) for i in (0, 1, 2, 4, 5, 6))
    failed = sum(r[3] for r in rounds)
    results[name] = (rate, cpu)
    spread = "-".join(f"{v:.0f}" for v in (min(r[0] for r in rounds), max(r[0] for r in rounds)))
    print(f"  {name:18s} {rate:7.0f} probes/s ({spread})   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   {cpu:5.2f} ms CPU/probe   failed {failed}"
          f"   (nginx {server:.2f} ms, load generator {client:.2f} ms CPU/probe)")
ratio = results["triage exporter"][0] / results["blackbox_exporter"][0]
cpu_ratio = results["blackbox_exporter"][1] / results["triage exporter"][1]
pairs = [t[0] / b[0] for t, b in zip(runs["triage exporter"], runs["blackbox_exporter"])]
print(f"  ratio triage / blackbox_exporter: {ratio:.2f} in probes/s (runs side by side {min(pairs):.2f}-{max(pairs):.2f}), "
      f"{cpu_ratio:.2f} in probes per CPU second  (target >= 1.5)")
for process, _ in exporters.values():
    process.terminate()
    process.wait()

# The floor: libssl alone on the same handshakes (C, one thread, blocking, every chain verified).
compiler = shutil.which("cc") or shutil.which("clang")
client = f"{work}/libssl-client"
source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-libssl-client.c")
if compiler and subprocess.run([compiler, "-O2", source, "-o", client, "-lssl", "-lcrypto"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
    floors = []
    for _ in range(3):
        out = subprocess.run([client, f"{work}/ca.pem", str(base), str(ENDPOINTS), "2000"], capture_output=True, text=True)
        if out.returncode == 0:
            floors.append(float(out.stdout))
    if floors:
        print(f"  libssl alone (C, one thread, blocking, chain verified each time, no HTTP): {median(floors):.2f} ms CPU per handshake "
              f"(median of {len(floors)} runs of 2000)")
else:
    print("  libssl alone: not measured (no C compiler)")

# --- scan of 100,000 targets ----------------------------------------------------
TARGETS = int(os.environ.get("BENCH_SCAN_TARGETS", "100000"))
TLS = min(2000, TARGETS)
if TARGETS == 0:
    nginx.terminate()
    nginx.wait()
    sys.exit(0)
with open(f"{work}/targets.txt", "w") as f:
    for i in range(TARGETS):
        # 2,000 TLS endpoints; the rest refused (ports nothing listens on).
        f.write(f"localhost:{base + i % ENDPOINTS}\n" if i % (TARGETS // TLS) == 0 else f"127.0.0.1:{40000 + i % 20000}\n")
start = time.perf_counter()
scan = subprocess.run(["env", "TRIAGE_PEAK_RSS=1", triage, "scan", "--targets", f"{work}/targets.txt", "--cacert", f"{work}/ca.pem",
                       "--concurrency", "256", "--timeout", "3s", "--format", "jsonl"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - start
peak = next((int(line.split()[-2]) for line in scan.stderr.splitlines() if line.startswith("triage: peak resident set")), 0)
print(f"scan: {TARGETS} targets ({TLS} TLS, the rest refused) in {wall:.1f} s ({TARGETS / wall:.0f}/s), peak RSS {peak / 1024:.1f} MB  (target <= 64 MB)")

# --- start-up -------------------------------------------------------------------
with open(f"{work}/hello.swift", "w") as f:
    f.write('print("hello")\n')
swiftc = shutil.which("swiftc")
hello = f"{work}/hello"
have_hello = swiftc and subprocess.run([swiftc, "-O", "-static-stdlib", f"{work}/hello.swift", "-o", hello],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def median_ms(commands, rounds=60):
    """Each command's median wall time; the commands take turns, so a machine that slows down
    for a while slows all of them alike."""
    times = [[] for _ in commands]
    for _ in range(rounds):
        for i, argv in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[i].append((time.perf_counter() - start) * 1000)
    return [statistics.median(t) for t in times]


if have_hello:
    base_ms, version, explain = median_ms([[hello], [triage, "--version"], [triage, "explain", "80"]])
    print(f"start-up: static hello-world {base_ms:.1f} ms; triage --version {version:.1f} ms ({version / base_ms:.1f}x); "
          f"triage explain 80 {explain:.1f} ms ({explain / base_ms:.1f}x)  (target <= 3x)")
else:
    version, explain = median_ms([[triage, "--version"], [triage, "explain", "80"]])
    print(f"start-up: triage --version {version:.1f} ms; triage explain 80 {explain:.1f} ms (no static hello-world to compare: swiftc -static-stdlib failed)")

nginx.terminate()
nginx.wait()
shutil.rmtree(work, ignore_errors=True)
if KEY == "ec" and os.environ.get("BENCH_BOTH", "1") == "1":
    # The same with an RSA-2048 leaf (the other half of the table), exporters only.
    subprocess.run([sys.executable, __file__, triage], env={**os.environ, "BENCH_KEY": "rsa", "BENCH_SCAN_TARGETS": "0", "BENCH_BOTH": "0"})
